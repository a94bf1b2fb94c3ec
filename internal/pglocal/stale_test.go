package pglocal

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func TestRemoveStale(t *testing.T) {
	tmp := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	me := currentOwner()
	old := time.Now().Add(-time.Hour)
	cases := []struct {
		name      string
		owner     *owner // nil: no owner file
		mtime     time.Time
		wantKept  bool
		ownerText string
		otherUser bool // the directory belongs to another OS user
	}{
		{name: "live owner", owner: &me, wantKept: true},
		{name: "dead owner", owner: &owner{pid: dead.Process.Pid, host: me.host, boot: me.boot}},
		{name: "reused pid", owner: &owner{pid: me.pid, start: me.start + 1, host: me.host, boot: me.boot}},
		{name: "earlier boot", owner: &owner{pid: me.pid, start: me.start, host: me.host, boot: "another-boot"}},
		{name: "other host", owner: &owner{pid: dead.Process.Pid, host: "elsewhere", boot: me.boot}, wantKept: true},
		{name: "fresh without owner", wantKept: true},
		{name: "old without owner", mtime: old},
		{name: "old garbled owner", ownerText: "garbage", mtime: old},
		{name: "another user's, dead owner", owner: &owner{pid: dead.Process.Pid, host: me.host, boot: me.boot}, otherUser: true, wantKept: true},
		{name: "another user's, old without owner", mtime: old, otherUser: true, wantKept: true},
	}
	if me.boot == "" {
		cases[3].wantKept = true // without boot ids, the live pid decides
	}
	dirs := make([]string, len(cases))
	for i, tc := range cases {
		dir, err := os.MkdirTemp(tmp, tempPrefix+"*")
		if err != nil {
			t.Fatal(err)
		}
		dirs[i] = dir
		if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
		text := tc.ownerText
		if tc.owner != nil {
			text = tc.owner.String()
		}
		if text != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if tc.otherUser {
			if os.Geteuid() != 0 {
				t.Skip("giving a directory to another user needs root")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil { // nobody
				t.Fatal(err)
			}
		}
		if !tc.mtime.IsZero() {
			if err := os.Chtimes(dir, tc.mtime, tc.mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	unrelated := filepath.Join(tmp, "unrelated")
	if err := os.Mkdir(unrelated, 0o700); err != nil {
		t.Fatal(err)
	}

	removeStale(tmp, nil, "", testLogger(t))

	for i, tc := range cases {
		_, err := os.Stat(dirs[i])
		if kept := err == nil; kept != tc.wantKept {
			t.Errorf("%s: kept = %v, want %v", tc.name, kept, tc.wantKept)
		}
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Errorf("removed a directory without the prefix: %v", err)
	}
}

func TestOwnerRoundTrip(t *testing.T) {
	me := currentOwner()
	got, err := parseOwner([]byte(me.String()))
	if err != nil || got != me {
		t.Errorf("parseOwner(%q) = %+v, %v", me.String(), got, err)
	}
	if me.gone() {
		t.Error("this process counts as gone")
	}
}
