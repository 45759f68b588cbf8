# want: 3: Unsupported argument
runbook "r" {
  titel = "typo"
}
