package report

// PlanCounts tallies a plan's steps by what apply would do; the plan
// printout, plan files and --detailed-exitcode all use this one count.
type PlanCounts struct {
	Create    int `json:"create"`
	Modify    int `json:"modify"`
	Run       int `json:"run"`
	Unknown   int `json:"unknown"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
}

// Pending reports whether apply would change or run anything.
func (c PlanCounts) Pending() bool { return c.Create+c.Modify+c.Run+c.Unknown > 0 }

// PlanCounts counts the run's steps on every host; an unreachable host
// counts as one error.
func (r *Run) PlanCounts() PlanCounts {
	var c PlanCounts
	for _, h := range r.Hosts {
		if h.Error != "" {
			c.Errors++
			continue
		}
		for _, s := range h.Steps {
			c.add(s)
		}
	}
	return c
}

func (c *PlanCounts) add(s *Step) {
	switch {
	case s.Status == StatusFailed:
		c.Errors++
	case s.Status == StatusUnknown:
		c.Unknown++
	case s.Status == StatusUnchanged:
		c.Unchanged++
	case s.Status == StatusPlanned && s.Action == "create":
		c.Create++
	case s.Status == StatusPlanned && s.Action == "modify":
		c.Modify++
	case s.Status == StatusPlanned:
		c.Run++
	}
}

// Run results (Run.Result).
const (
	ResultRunning     = "running"     // written at the start; a record left so was killed
	ResultSuccess     = "success"     // apply: every step reached its goal
	ResultPlanned     = "planned"     // plan: every probe ran
	ResultFailed      = "failed"      // a step failed or a host could not be reached
	ResultInterrupted = "interrupted" // SIGINT/SIGTERM
)
