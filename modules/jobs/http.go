package jobs

import (
	"embed"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/carepass/carepass/modules/page"
	"github.com/carepass/carepass/policy"
)

// Templates holds this module's page templates, under templates/.
//
//go:embed templates/*.html
var Templates embed.FS

// pageSize is how many jobs the operator's list shows.
const pageSize = 100

// Routes mounts the operator's list of background jobs on operator (the
// /operator group): GET /operator/jobs, for those who may read tenants.
func Routes(operator fiber.Router, q *Queue, enf *policy.Enforcers) {
	h := handler{q: q}
	operator.Get("/jobs", enf.RequirePlatform("tenants", "read"), h.list)
}

type handler struct{ q *Queue }

// choice is one option of a select.
type choice struct{ Key, Label string }

var stateChoices = []choice{{"", "Any state"}, {StateAvailable, "Available"}, {StateScheduled, "Scheduled"},
	{StateRunning, "Running"}, {StateRetryable, "Retryable"}, {StateCompleted, "Completed"},
	{StateDiscarded, "Discarded"}, {StateCancelled, "Cancelled"}, {StatePending, "Pending"}}

type listView struct {
	Jobs   []Job
	State  string
	States []choice
	Limit  int
}

func (h handler) list(c *fiber.Ctx) error {
	state := strings.Clone(c.Query("state"))
	v := listView{State: state, States: stateChoices, Limit: pageSize}
	list, err := h.q.Recent(c.UserContext(), state, pageSize)
	if err != nil {
		v.State = ""
		return page.Invalid(c, "jobs/jobs", page.New(c, "Background jobs", v), err, map[string]string{"state": state})
	}
	v.Jobs = list
	return page.Render(c, "jobs/jobs", page.New(c, "Background jobs", v))
}
