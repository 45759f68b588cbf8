# want: 3: Invalid expression
runbook "r" {
  title = "x" +
}
