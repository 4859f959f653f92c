// Carepass: scanning a carer passport's QR code with the camera, on the page
// that checks a passport. An enhancement only: without this script, without a
// camera or without permission to use it, the form still takes a typed code
// or the pasted text of a QR code.
//
// Frames are read by the browser's own BarcodeDetector when it reads QR
// codes, and otherwise by the barcode-detector library (ZXing compiled to
// WebAssembly, copied to /static/vendor by the build), loaded only when
// scanning starts.

const PREFIX = 'CP1:'; // every passport QR code's text starts with this
const VENDOR = new URL('vendor/barcode-detector/', import.meta.url);
const INTERVAL_MS = 120; // pause between two reads of the camera's picture
const MAX_FAILED_READS = 25; // reads in a row that fail before giving up

const SAY = {
  starting: 'Starting the camera…',
  scanning: 'The camera is on. Hold the QR code on the passport in front of it.',
  notPassport: 'That QR code is not a Carepass passport. Scanning continues: show the QR code on the passport.',
  found: 'QR code read. Checking the passport…',
  stopped: 'Scanning stopped.',
  denied: 'The camera cannot be used because permission was not given. ' +
    'Allow this site to use the camera in your browser settings and try again, or type the passport code instead.',
  noCamera: 'No camera was found. Type the passport code instead.',
  busy: 'The camera could not be started. It may be in use by another app. Close that app and try again, or type the passport code instead.',
  noReader: 'The QR code reader could not be loaded. Type the passport code instead.',
};

function byId(id) {
  return document.getElementById(id);
}

/** nativeDetector returns the browser's own QR reader, or null if it has none. */
async function nativeDetector() {
  const Native = globalThis.BarcodeDetector;
  if (typeof Native !== 'function' || typeof Native.getSupportedFormats !== 'function') return null;
  try {
    const formats = await Native.getSupportedFormats();
    return formats.includes('qr_code') ? new Native({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

/** libraryDetector loads the library and its decoder from this site. */
async function libraryDetector() {
  const lib = await import(new URL('ponyfill.js', VENDOR).href);
  await lib.prepareZXingModule({
    overrides: {
      locateFile: (path, prefix) => (path.endsWith('.wasm') ? new URL(path, VENDOR).href : prefix + path),
    },
    fireImmediately: true,
  });
  return new lib.BarcodeDetector({ formats: ['qr_code'] });
}

function cameraMessage(err) {
  switch (err && err.name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return SAY.denied;
    case 'NotFoundError':
    case 'OverconstrainedError':
      return SAY.noCamera;
    default:
      return SAY.busy;
  }
}

function cameraAllowed() {
  // Chromium says whether the page's Permissions-Policy lets it use the camera.
  const policy = document.permissionsPolicy || document.featurePolicy;
  if (policy && typeof policy.allowsFeature === 'function') {
    try {
      return policy.allowsFeature('camera');
    } catch {
      return true;
    }
  }
  return true;
}

function init() {
  const panel = byId('verify-scan');
  const form = byId('verify-form');
  const text = byId('verify-text');
  const channel = byId('verify-channel');
  const start = byId('scan-start');
  const stop = byId('scan-stop');
  const video = byId('scan-video');
  const status = byId('scan-status');
  if (!panel || !form || !text || !channel || !start || !stop || !video || !status) return;
  const media = navigator.mediaDevices;
  if (!media || typeof media.getUserMedia !== 'function' || !cameraAllowed()) return;

  let session = 0; // which scan is current; a stale step checks it and gives up
  let stream = null;
  let timer = 0;
  let detector = null; // a promise of the reader, kept once it loads
  let lastOther = null; // the text of the last QR code that was not a passport

  const say = (message) => {
    if (status.textContent !== message) status.textContent = message;
  };

  const getDetector = () => {
    if (!detector) {
      detector = nativeDetector()
        .then((d) => {
          if (d) {
            panel.dataset.decoder = 'native';
            return d;
          }
          return libraryDetector().then((lib) => {
            panel.dataset.decoder = 'library';
            return lib;
          });
        })
        .catch((err) => {
          detector = null; // try again next time
          throw err;
        });
    }
    return detector;
  };

  const showRunning = (running) => {
    const hadFocus = document.activeElement === (running ? start : stop);
    start.hidden = running;
    stop.hidden = !running;
    video.hidden = !running;
    panel.classList.toggle('cp-scan--running', running);
    // The button that was pressed has gone: move focus to the one shown.
    if (hadFocus) (running ? stop : start).focus();
  };

  /** halt turns the camera off and forgets the current scan. */
  const halt = () => {
    session += 1;
    clearTimeout(timer);
    if (stream) {
      for (const track of stream.getTracks()) track.stop();
      stream = null;
    }
    video.pause();
    video.srcObject = null;
    showRunning(false);
  };

  const found = (value) => {
    halt();
    text.value = value;
    channel.value = 'qr';
    say(SAY.found);
    if (typeof form.requestSubmit === 'function') form.requestSubmit();
    else form.submit();
  };

  const read = async (id, reader, failures) => {
    if (id !== session) return;
    let codes = null;
    if (video.readyState >= 2) { // HAVE_CURRENT_DATA: a picture to read
      try {
        codes = await reader.detect(video);
        failures = 0;
      } catch {
        failures += 1;
      }
      if (id !== session) return;
    }
    if (failures >= MAX_FAILED_READS) {
      halt();
      say(SAY.noReader);
      return;
    }
    if (codes && codes.length) {
      const values = codes.map((c) => String(c.rawValue || ''));
      const passport = values.find((v) => v.startsWith(PREFIX));
      if (passport) {
        found(passport);
        return;
      }
      const other = values.find((v) => v !== '');
      if (other !== undefined && other !== lastOther) {
        lastOther = other;
        say(SAY.notPassport);
      }
    }
    timer = setTimeout(() => read(id, reader, failures), INTERVAL_MS);
  };

  const begin = async () => {
    halt();
    const id = session;
    lastOther = null;
    showRunning(true);
    say(SAY.starting);
    const reader = getDetector();
    reader.catch(() => {}); // handled below, after the camera
    let s;
    try {
      s = await media.getUserMedia({ video: { facingMode: { ideal: 'environment' } }, audio: false });
    } catch (err) {
      if (id !== session) return;
      halt();
      say(cameraMessage(err));
      return;
    }
    if (id !== session) {
      for (const track of s.getTracks()) track.stop();
      return;
    }
    stream = s;
    video.srcObject = s;
    try {
      await video.play();
    } catch (err) {
      if (id !== session) return;
      halt();
      say(cameraMessage(err));
      return;
    }
    let r;
    try {
      r = await reader;
    } catch {
      if (id !== session) return;
      halt();
      say(SAY.noReader);
      return;
    }
    if (id !== session) return;
    say(SAY.scanning);
    read(id, r, 0);
  };

  start.addEventListener('click', () => { begin(); });
  stop.addEventListener('click', () => {
    halt();
    say(SAY.stopped);
  });
  // Whatever is typed or pasted is sent as typed.
  text.addEventListener('input', () => { channel.value = 'code'; });
  // The camera is never left on in a page that is not being looked at.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'hidden' && stream) {
      halt();
      say(SAY.stopped);
    }
  });
  window.addEventListener('pagehide', () => { if (stream) halt(); });

  panel.hidden = false;
}

init();
