# want: 8: Invalid step "u"
# detail: no quotes
runbook "r" {}

step "create" "u" {
  entity  = "user"
  name    = "koopark"
  account = "hpc\"users"
}
