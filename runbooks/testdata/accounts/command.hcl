# command's removes and chdir on the testbed (runbooks/accounts_e2e_test.go).
runbook "acct_command" {
  title = "command removes and chdir (e2e)"
  hosts = "ctl1"
}

variable "dir" {
  type = string
}

step "command" "consume" {
  checklist = "Consume the pending file in the directory"
  command   = "mv pending consumed"
  chdir     = var.dir
  removes   = "pending"
}

step "command" "marker" {
  checklist = "Make the marker in the directory"
  argv      = ["touch", "made"]
  chdir     = var.dir
  creates   = "made"
}
