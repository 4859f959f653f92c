// Package csvsafe keeps exported CSV files safe to open in a spreadsheet.
package csvsafe

import "strings"

// Cell returns v as a cell a spreadsheet reads as text: one that starts
// like a formula (= + - @, or a tab or carriage return) is prefixed with a
// quote, so a name such as "=HYPERLINK(…)" cannot run as a formula.
func Cell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
