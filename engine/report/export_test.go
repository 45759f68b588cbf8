package report

// RedactedViaJSON is the JSON round trip Redacted must match.
var RedactedViaJSON = redactedViaJSON
