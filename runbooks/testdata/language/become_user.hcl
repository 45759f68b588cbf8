# e2e (issue 17): become_user runs a step as another user through sudo -u;
# here as rbadmin, whose sudo asks for a password (become_password_env).

runbook "lang_become_user" {
  title = "Run a command as koopark"
  hosts = "monitoring"
}

step "command" "whoami" {
  argv        = ["id", "-un"]
  become_user = "koopark"
}

step "command" "login_user" {
  argv = ["id", "-un"]
}

output "ran_as" {
  value = trimspace(step.whoami.stdout)
}

output "logged_in_as" {
  value = trimspace(step.login_user.stdout)
}
