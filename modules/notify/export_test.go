package notify

import "github.com/google/uuid"

// PersonToken is the preference token of a person, for the tests.
func PersonToken(n *Notifier, person uuid.UUID) string {
	return n.token(subject{kind: subjectPerson, id: person})
}

// AccountToken is the preference token of an account, for the tests.
func AccountToken(n *Notifier, account uuid.UUID) string {
	return n.token(subject{kind: subjectAccount, id: account})
}
