# want: 4: Unsupported block type
runbook "r" {}

resource "check" "a" {
  command = "true"
}
