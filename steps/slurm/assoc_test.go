package slurm

import (
	"reflect"
	"strings"
	"testing"
)

func TestAssocBuilders(t *testing.T) {
	tests := []struct {
		got  func() ([]string, error)
		want string
	}{
		{func() ([]string, error) { return GrantQoSArgv("hpc-users", "moonlight") },
			"sacctmgr -i modify user where account=hpc-users set qos+=moonlight"}, // the seed's Step 5, with -i
		{func() ([]string, error) { return RevokeQoSArgv("hpc-users", "moonlight") },
			"sacctmgr -i modify user where account=hpc-users set qos-=moonlight"},
		{func() ([]string, error) { return ShowAssocArgv(AssocFilter{Accounts: []string{"hpc-users"}}) },
			"sacctmgr -n -P show assoc where account=hpc-users format=Cluster,Account,User,Partition,QOS,DefaultQOS"},
		{func() ([]string, error) { return ShowAssocArgv(AssocFilter{Users: []string{"koopark", "rbadmin"}}) },
			"sacctmgr -n -P show assoc where user=koopark,rbadmin format=Cluster,Account,User,Partition,QOS,DefaultQOS"},
		{func() ([]string, error) { return ShowAssocArgv(AssocFilter{}) },
			"sacctmgr -n -P show assoc format=Cluster,Account,User,Partition,QOS,DefaultQOS"},
		{func() ([]string, error) { return AddUserArgv("koopark", "hpc-users", "") },
			"sacctmgr -i add user koopark Account=hpc-users"},
		{func() ([]string, error) { return AddUserArgv("rbadmin", "hpc-users", "administrator") },
			"sacctmgr -i add user rbadmin Account=hpc-users AdminLevel=Administrator"},
		{func() ([]string, error) { return ShowUserWithAssocArgv("koopark") },
			"sacctmgr -n -P show user koopark withassoc format=User,DefaultAccount,Account,QOS,AdminLevel"},
	}
	for _, tc := range tests {
		got, err := tc.got()
		if err != nil || !reflect.DeepEqual(got, strings.Fields(tc.want)) {
			t.Errorf("got %q %v, want %q", got, err, tc.want)
		}
	}
	argv, err := AddAccountArgv("hpc-users", "HPC users", "lab")
	if want := []string{"sacctmgr", "-i", "add", "account", "hpc-users", "Description=HPC users", "Organization=lab"}; err != nil || !reflect.DeepEqual(argv, want) {
		t.Errorf("AddAccountArgv = %q %v", argv, err)
	}
	if argv, _ := AddAccountArgv("hpc-users", "", ""); len(argv) != 5 {
		t.Errorf("AddAccountArgv without texts = %q", argv)
	}
	bad := []func() ([]string, error){
		func() ([]string, error) { return GrantQoSArgv("HPC", "moonlight") },
		func() ([]string, error) { return GrantQoSArgv("hpc", "moon;light") },
		func() ([]string, error) { return RevokeQoSArgv("", "moonlight") },
		func() ([]string, error) { return RevokeQoSArgv("hpc", "") },
		func() ([]string, error) { return ShowAssocArgv(AssocFilter{Accounts: []string{"a,b"}}) },
		func() ([]string, error) { return ShowAssocArgv(AssocFilter{Users: []string{"-x"}}) },
		func() ([]string, error) { return AddAccountArgv("x y", "", "") },
		func() ([]string, error) { return AddAccountArgv("hpc", "a'b", "") },
		func() ([]string, error) { return AddUserArgv("koopark", "hpc", "root") },
		func() ([]string, error) { return AddUserArgv("Koopark", "hpc", "") },
		func() ([]string, error) { return AddUserArgv("koopark", "", "") },
		func() ([]string, error) { return ShowUserWithAssocArgv("") },
	}
	for i, f := range bad {
		if argv, err := f(); err == nil {
			t.Errorf("bad %d accepted: %q", i, argv)
		}
	}
}

func TestParseAssocs(t *testing.T) {
	// The real `-P` capture has a header; ParseAssocs reads -n output, so
	// drop the header line first.
	out := load(t, "real/sacctmgr_show_assoc_P").stdout
	body := out[strings.IndexByte(string(out), '\n')+1:]
	as, err := ParseAssocs(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 5 {
		t.Fatalf("%d assocs", len(as))
	}
	k := as[3]
	if k.Cluster != "testcluster" || k.Account != "hpc-users" || k.User != "koopark" || !k.HasQoS("tbq") || !k.HasQoS("Normal") || k.HasQoS("moonlight") {
		t.Errorf("%+v", k)
	}
	if as[0].User != "" || !reflect.DeepEqual(as[0].QOS, []string{"normal"}) {
		t.Errorf("%+v", as[0])
	}
	// The header matches our format= list's printed names.
	tb, _ := ParseParsableHeader(out)
	if !reflect.DeepEqual(tb.Columns, []string{"Cluster", "Account", "User", "Partition", "QOS", "Def QOS"}) {
		t.Errorf("header %q", tb.Columns)
	}
}

func TestParseUserWithAssoc(t *testing.T) {
	out := load(t, "real/sacctmgr_show_user_withassoc_P").stdout
	body := out[strings.IndexByte(string(out), '\n')+1:]
	us, err := ParseUserWithAssoc(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 3 || us[0].User != "koopark" || us[0].Account != "hpc-users" || !reflect.DeepEqual(us[0].QOS, []string{"normal", "tbq"}) ||
		us[2].AdminLevel != "Administrator" {
		t.Errorf("%+v", us)
	}
	// Without withassoc Account/QOS are blank: the seed's check is useless.
	tb, err := ParseParsableHeader(load(t, "real/sacctmgr_show_user_noassoc_P").stdout)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range tb.Maps() {
		if m.Str("Account") != "" || m.Str("QOS") != "" {
			t.Errorf("without withassoc: %q", m)
		}
	}
}
