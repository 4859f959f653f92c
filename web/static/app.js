// Carepass: progressive enhancement only; every journey works without this file.
document.body.classList.add('js-enabled', 'nhsuk-frontend-supported');
