package csvsafe

import "testing"

func TestCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"Ann Smith":         "Ann Smith",
		"=1+1":              "'=1+1",
		"+44 161 000 0000":  "'+44 161 000 0000",
		"-5":                "'-5",
		"@SUM(A1)":          "'@SUM(A1)",
		"\t=cmd":            "'\t=cmd",
		"\r=cmd":            "'\r=cmd",
		"O'Neil = friend":   "O'Neil = friend",
		"2027-03-15":        "2027-03-15",
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
}
