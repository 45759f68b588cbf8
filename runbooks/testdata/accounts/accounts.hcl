# Local accounts on the testbed (runbooks/accounts_e2e_test.go): two groups
# and a user in them, made, changed and removed through the variables.
runbook "accounts" {
  title = "Local accounts (e2e)"
  hosts = "ctl1-rbadmin"
}

variable "user" {
  type = string
}

variable "group1" {
  type = string
}

variable "group2" {
  type = string
}

variable "gid" {
  type        = number
  description = "gid of group1 (a free one, picked by the test)"
}

variable "state" {
  type    = string
  default = "present"
}

variable "shell" {
  type    = string
  default = "/bin/sh"
}

variable "groups" {
  type = list(string)
}

variable "comment" {
  type    = string
  default = "Runbook Test"
}

variable "become" {
  type    = bool
  default = true
}

locals {
  present = var.state == "present"
}

step "group" "group1" {
  checklist = "Group ${var.group1} is ${var.state}"
  name      = var.group1
  gid       = local.present ? var.gid : null
  state     = var.state
  become    = var.become
}

step "group" "group2" {
  checklist = "Group ${var.group2} is ${var.state}"
  name      = var.group2
  state     = var.state
  become    = var.become
}

step "user" "user" {
  checklist = "User ${var.user} is ${var.state}"
  name      = var.user
  state     = var.state
  shell     = local.present ? var.shell : null
  groups    = local.present ? var.groups : null
  comment   = local.present ? var.comment : null
  remove    = local.present ? null : true
  become    = var.become
}
