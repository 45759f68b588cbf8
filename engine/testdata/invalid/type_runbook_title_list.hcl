# want: 3: Unsuitable value type
runbook "r" {
  title = ["not", "a", "string"]
}
