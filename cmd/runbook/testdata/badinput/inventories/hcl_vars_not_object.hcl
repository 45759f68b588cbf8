# want: 4: Invalid vars
host "ctl1" {
  address = "127.0.0.1"
  vars = "job_user=koopark"
}
