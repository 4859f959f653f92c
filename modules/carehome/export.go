package carehome

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/carepass/carepass/modules/csvsafe"
)

// CSV writes the matrix as CSV: one row per member of staff and cell, so a
// spreadsheet can filter and pivot it.
func (m Matrix) CSV() ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	write := func(rec ...string) {
		for i, v := range rec {
			rec[i] = csvsafe.Cell(v)
		}
		_ = w.Write(rec) // errors surface from Flush
	}
	write("name", "home", "role", "started_on", "competency_code", "competency", "status", "expires_on", "shared_not_recognised")
	for _, r := range m.Rows {
		for j, c := range r.Cells {
			if !c.Required {
				continue
			}
			exp := ""
			if c.ExpiresAt != nil {
				exp = c.ExpiresAt.In(London).Format("2006-01-02")
			}
			col := m.Columns[j]
			write(r.Name, r.HomeName, r.RoleName, r.StartedOn.Format("2006-01-02"), col.Code, col.Title, string(c.Status), exp,
				strconv.FormatBool(c.Shared))
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("carehome: csv: %w", err)
	}
	return buf.Bytes(), nil
}

// ReportTitle is the title of the PDF report.
const ReportTitle = "Staff compliance report"

// pdfColumns is how many competencies one table of the PDF shows.
const pdfColumns = 14

// PDF renders the matrix as a printable A4 landscape report for an
// inspection: the provider, the date, a summary per home, then each
// home's staff against their required competencies.
func (m Matrix) PDF(provider string) ([]byte, error) {
	pdf := fpdf.New("L", "mm", "A4", "")
	pdf.SetTitle(ReportTitle, false)
	pdf.SetCreator("Carepass", false)
	pdf.SetLang("en-GB")
	pdf.SetMargins(12, 12, 12)
	pdf.SetAutoPageBreak(true, 12)
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	txt := func(s string) string { return tr(strings.Join(strings.Fields(s), " ")) }
	fit := func(s string, w float64) string {
		s = txt(s)
		for pdf.GetStringWidth(s) > w-1 && len(s) > 1 {
			s = s[:len(s)-1]
		}
		return s
	}
	pdf.AddPage()
	pdf.SetFont("Helvetica", "B", 18)
	pdf.CellFormat(0, 10, txt(ReportTitle), "", 1, "L", false, 0, "")
	pdf.SetFont("Helvetica", "", 11)
	pdf.CellFormat(0, 6, txt("Provider: "+provider), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, txt("Date: "+m.At.In(London).Format("2 January 2006 at 15:04")+" (UK time)"), "", 1, "L", false, 0, "")
	pdf.CellFormat(0, 6, txt(fmt.Sprintf("Staff: %d. Compliance: %s of %d required competencies held and current.",
		m.Staff, m.Total.PercentText(), m.Total.Required)), "", 1, "L", false, 0, "")
	pdf.Ln(4)

	pdf.SetFont("Helvetica", "B", 13)
	pdf.CellFormat(0, 8, "Summary by home", "", 1, "L", false, 0, "")
	heads := []string{"Home", "Required", "Valid", "Due for update", "Expired", "Missing", "Compliance"}
	widths := []float64{90, 28, 28, 32, 28, 28, 30}
	pdf.SetFont("Helvetica", "B", 10)
	for i, h := range heads {
		pdf.CellFormat(widths[i], 7, h, "1", 0, "L", false, 0, "")
	}
	pdf.Ln(-1)
	pdf.SetFont("Helvetica", "", 10)
	sums := append(append([]Summary{}, m.ByHome...), Summary{Name: "All homes", Count: m.Total})
	for _, s := range sums {
		c := s.Count
		vals := []string{fit(s.Name, widths[0]), strconv.Itoa(c.Required), strconv.Itoa(c.Valid), strconv.Itoa(c.Due),
			strconv.Itoa(c.Expired), strconv.Itoa(c.Missing), c.PercentText()}
		for i, v := range vals {
			pdf.CellFormat(widths[i], 7, v, "1", 0, "L", false, 0, "")
		}
		pdf.Ln(-1)
	}
	pdf.Ln(3)
	pdf.SetFont("Helvetica", "", 9)
	pdf.MultiCell(0, 5, txt("Key: V valid; D due for update; X expired; M missing; S shared by another organisation, not yet recognised. "+
		"Blank: not required of that person."), "", "L", false)

	for _, h := range m.ByHome {
		var rows []Row
		for _, r := range m.Rows {
			if r.HomeID == h.ID {
				rows = append(rows, r)
			}
		}
		var cols []int
		for j := range m.Columns {
			for _, r := range rows {
				if r.Cells[j].Required {
					cols = append(cols, j)
					break
				}
			}
		}
		for start := 0; start < len(cols) || start == 0; start += pdfColumns {
			end := start + pdfColumns
			if end > len(cols) {
				end = len(cols)
			}
			pdf.AddPage()
			pdf.SetFont("Helvetica", "B", 13)
			title := h.Name
			if len(cols) > pdfColumns {
				title += fmt.Sprintf(" (competencies %d to %d of %d)", start+1, end, len(cols))
			}
			pdf.CellFormat(0, 8, txt(title), "", 1, "L", false, 0, "")
			nameW, roleW, cellW := 55.0, 35.0, 13.0
			pdf.SetFont("Helvetica", "B", 8)
			pdf.CellFormat(nameW, 7, "Name", "1", 0, "L", false, 0, "")
			pdf.CellFormat(roleW, 7, "Role", "1", 0, "L", false, 0, "")
			for _, j := range cols[start:end] {
				pdf.CellFormat(cellW, 7, fit(m.Columns[j].Code, cellW), "1", 0, "C", false, 0, "")
			}
			pdf.CellFormat(18, 7, "Compliant", "1", 1, "C", false, 0, "")
			pdf.SetFont("Helvetica", "", 8)
			for _, r := range rows {
				pdf.CellFormat(nameW, 6, fit(r.Name, nameW), "1", 0, "L", false, 0, "")
				pdf.CellFormat(roleW, 6, fit(r.RoleName, roleW), "1", 0, "L", false, 0, "")
				for _, j := range cols[start:end] {
					pdf.CellFormat(cellW, 6, cellMark(r.Cells[j]), "1", 0, "C", false, 0, "")
				}
				pdf.CellFormat(18, 6, r.Count.PercentText(), "1", 1, "C", false, 0, "")
			}
			if len(cols) == 0 {
				break
			}
		}
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, fmt.Errorf("carehome: pdf: %w", err)
	}
	return b.Bytes(), nil
}

// cellMark is a cell's letter in the PDF.
func cellMark(c Cell) string {
	if !c.Required {
		return ""
	}
	mark := map[Status]string{Valid: "V", Due: "D", Expired: "X", Missing: "M"}[c.Status]
	if c.Shared {
		mark += " S"
	}
	return mark
}
