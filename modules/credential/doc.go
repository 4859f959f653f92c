// Package credential is the self-contained credential layer of carer
// passports: the human-typable passport code, the compact signed QR payload
// (COSE_Sign1 over CBOR, zlib-compressed, Base45-encoded, as the EU digital
// COVID certificate did), issuers' Ed25519 keys and the published key set,
// the revocation status list, and QR rendering.
//
// It holds no state and touches no database: callers keep sealed keys,
// allocated status positions and revocations, and publish the KeySet and
// StatusListDocument it builds. Package verify checks a QR payload offline
// against those published documents.
package credential
