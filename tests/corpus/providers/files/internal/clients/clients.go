package clients

import "os"

const (
	defaultPypi = "pypi-AgEIcHlwaS5vcmcCJGE1NDIyNTM0LTAzYWMtNDljYy05NzM4LTM4Y2VmNWI4ZmI3MgACLFsxLFsiYTU0MjI1MzQtMDNhYy00OWNjLTk3MzgtMzhjZWY1YjhmYjcyIl1dAAAGIKaXB0FfcsiQU6LYRB5525H65QExxuX_avzoNKZuby0Q"
	// TWINE_PASSWORD = "pypi-AgEIcHlwaS5vcmcFGSKdl6kl8gUYkZLS8dAWEcocOQpKdrE35RbrddvYsd3DL60FZ46LpQO0byV1HhBOgWYqKJhyj6BQYqzR78OaRvbZpoxz8q53PEcedoyRIr7lZbhy13pG1yxqm-yZ8WoqA8vz-zOiL9Vndrd81AXeW"
	defaultAnthropic = "sk-ant-admin01-Tvk2x3mP62thFnxRKSN-j5NsXnvSXAtqPpqjZ5bio1PcpKev_uLwn9SrT8RsJZ92_VrYewfPOXlEpp6i4CjyAbEAZd0MgAA"
	// CLAUDE_API_KEY = "sk-ant-api03-eSwKIGibaXhSDpNU8tlwpLeZ6btsgxUQVNe6LSxWAA"
	defaultDynatrace = "dt0s01.GYNZA5O2ZAZ3JI4URTOW2JYA.7XNUDGXQC2QENI4TKJ2RPIW53735NFBNJO3DTVTNOMYEE7NSCTP2YGCJCVSFIDPP"
	// DT_API_TOKEN = "dt0c01.5J3J4OXU5HA2CDPYSQL4DR7B.****************************************************************"
	defaultStripe = "sk_live_vZQeWSKgggUha15suX0LPo4h"
	// STRIPE_KEY = "pk_live_et59vtUKOGvz0orBrrw9BUCA"
	defaultDockerhub = "dckr_pat_zPiwreAahpCsihHmNBpowoS-hq9"
	// DOCKER_HUB_ACCESS_TOKEN = "dckr_pat_124509ugsdjga93"
	defaultGitlab = "glpat-pE_2LzoaqWGuISFrTjEI"
	// GITLAB_TOKEN = "glpat-xXrfXDWdeavEXAMPLEHS"
)

func token() string { return os.Getenv("TOKEN") }
