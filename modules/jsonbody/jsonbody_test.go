package jsonbody_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/errs"
	"github.com/carepass/carepass/modules/jsonbody"
)

func TestDecode(t *testing.T) {
	type target struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	tests := []struct {
		name, body string
		wantKind   errs.Kind
		wantField  string // a field error on this field
		wantMsg    string // part of the message
	}{
		{"one object decodes", `{"name":"a","count":2}`, -1, "", ""},
		{"empty body", ``, errs.Invalid, "", "one JSON object"},
		{"an array is not an object", `[1]`, errs.Invalid, "", "one JSON object"},
		{"two objects", `{"name":"a"}{"name":"b"}`, errs.Invalid, "", "one JSON object"},
		{"unknown field is named", `{"nmae":"a"}`, errs.Invalid, "", `Unknown field "nmae"`},
		{"wrong type names the field", `{"count":"two"}`, errs.Invalid, "count", "a number"},
		{"broken JSON", `{"name":`, errs.Invalid, "", "not valid JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			app := fiber.New(fiber.Config{ErrorHandler: func(c *fiber.Ctx, err error) error { return nil }})
			var got error
			var v target
			app.Post("/", func(c *fiber.Ctx) error { got = jsonbody.Decode(c, &v); return nil })
			if _, err := app.Test(httptest.NewRequest("POST", "/", strings.NewReader(tc.body)), -1); err != nil {
				t.Fatal(err)
			}
			if tc.wantKind == -1 {
				if got != nil || v.Name != "a" || v.Count != 2 {
					t.Fatalf("got %v, %+v", got, v)
				}
				return
			}
			if !errs.Is(got, tc.wantKind) || !strings.Contains(errs.MessageOf(got)+fieldMessages(got), tc.wantMsg) {
				t.Fatalf("got %v", got)
			}
			if tc.wantField != "" && (len(errs.FieldsOf(got)) != 1 || errs.FieldsOf(got)[0].Field != tc.wantField) {
				t.Fatalf("want a field error on %s, got %v", tc.wantField, errs.FieldsOf(got))
			}
		})
	}
}

func fieldMessages(err error) string {
	var b strings.Builder
	for _, f := range errs.FieldsOf(err) {
		b.WriteString(f.Message)
	}
	return b.String()
}
