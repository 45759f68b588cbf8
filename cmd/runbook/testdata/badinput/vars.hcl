# The runbook the bad variable files of varfiles/ are given to:
#   runbook validate testdata/badinput/vars.hcl --var-file varfiles/FILE
runbook "badinput" {
  title = "Variables of every type, used by the Slurm kinds"
}

variable "qos_name" {
  type    = string
  default = "moonlight"
  validation {
    condition     = can(regex("^[a-z][a-z0-9_.-]{0,63}$", var.qos_name))
    error_message = "qos_name must be lower-case letters, digits, '.', '_' or '-'."
  }
}

variable "max_gpus" {
  type    = number
  default = 2
  validation {
    condition     = var.max_gpus >= 1 && floor(var.max_gpus) == var.max_gpus
    error_message = "max_gpus must be a whole number, 1 or more."
  }
}

variable "become" {
  type    = bool
  default = true
}

variable "users" {
  type    = list(string)
  default = ["koopark"]
}

variable "limits" {
  type    = map(string)
  default = {}
}

# No validation rules: the Slurm kinds themselves must refuse bad values.
variable "account" {
  type    = string
  default = "hpc-users"
}

variable "max_wall" {
  type    = string
  default = "8:00:00"
}

variable "max_tres" {
  type    = string
  default = "gres/gpu=2"
}

step "create" "qos" {
  entity = "qos"
  name   = var.qos_name
  become = var.become
}

step "modify" "limits" {
  entity = "qos"
  name   = var.qos_name
  set    = merge({ MaxWall = var.max_wall, MaxTRESPerUser = var.max_tres, Priority = var.max_gpus }, var.limits)
  become = var.become
}

step "grant" "grant" {
  account    = var.account
  qos        = var.qos_name
  depends_on = [step.limits]
}

step "verify" "users" {
  entity       = "association"
  account      = var.account
  users        = var.users
  qos_includes = [var.qos_name]
  depends_on   = [step.grant]
}
