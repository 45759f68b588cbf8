# want: 2: Unexpected "variable" block
variable "qos_name" {
  default = "moonlight"
}
