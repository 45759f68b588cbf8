# A small runbook that works on any Linux host: it shows the language
# (variables, checks, guarded commands, assertions, a checklist) without
# needing a cluster. Run it with:
#   runbook plan  runbooks/example.hcl --var name=demo
#   runbook apply runbooks/example.hcl --auto-approve

runbook "example" {
  title       = "Example: prepare a scratch directory"
  description = "Creates a directory and a marker file once, then proves they exist."
}

variable "name" {
  type        = string
  default     = "demo"
  description = "Name of the scratch directory under /tmp."
  validation {
    condition     = can(regex("^[a-z][a-z0-9_-]{0,31}$", var.name))
    error_message = "name must be lower-case letters, digits, _ or -, starting with a letter."
  }
}

locals {
  dir = "/tmp/runbook-example-${var.name}"
}

step "check" "kernel" {
  title     = "Read the kernel version"
  checklist = "Check which kernel the host runs (`uname -r`)"
  argv      = ["uname", "-r"]
}

# A directory with a mode: `file`, not `mkdir -p` in a command.
step "file" "make_dir" {
  title     = "Create the scratch directory"
  checklist = "Create ${local.dir}"
  path      = local.dir
  state     = "directory"
  mode      = "0755"
}

# A file's whole content: `copy` writes it only when it differs, and the
# plan shows the diff. No content on a command line.
step "copy" "marker" {
  title      = "Write a marker file"
  checklist  = "Write the marker file"
  dest       = "${local.dir}/marker"
  content    = "kernel ${trimspace(step.kernel.stdout)}\n"
  mode       = "0644"
  depends_on = [step.make_dir]
}

step "check" "read_marker" {
  title      = "Read the marker back"
  command    = "cat ${shellquote(local.dir)}/marker"
  parse      = "lines"
  depends_on = [step.marker]
}

step "assert" "marker_ok" {
  title         = "The marker names the kernel"
  checklist     = "Confirm the marker file names the kernel"
  condition     = startswith(step.read_marker.stdout, "kernel ")
  error_message = "the marker file does not start with \"kernel \""
}
