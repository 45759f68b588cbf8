# want: 7: Unknown host in group
host "ctl1" {
  address = "127.0.0.1"
}

group "slurm_controller" {
  hosts = ["ctl2"]
}
