//go:build linux

package lambdahost

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// sysProcAttr puts the emulator in its own process group and asks the kernel
// to SIGTERM it if the host dies, so the emulator stops its runtime too.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// procRef identifies a process across pid reuse by its start time.
type procRef struct {
	PID   int
	start string
}

// childProcs lists the direct children of pid: the emulator's runtime
// (bootstrap) processes, which it starts in process groups of their own.
func childProcs(pid int) []procRef {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []procRef
	for _, t := range tasks {
		data, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			child, err := strconv.Atoi(f)
			if err != nil {
				continue
			}
			if st, ok := procStat(child); ok {
				out = append(out, procRef{PID: child, start: st.start})
			}
		}
	}
	return out
}

type stat struct {
	state string
	start string
}

func procStat(pid int) (stat, bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return stat{}, false
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 {
		return stat{}, false
	}
	return stat{state: fields[0], start: fields[19]}, true
}

// alive reports whether the same process still runs (a zombie does not count).
func (r procRef) alive() bool {
	st, ok := procStat(r.PID)
	return ok && st.start == r.start && st.state != "Z" && st.state != "X"
}

// kill SIGKILLs the process and its process group, if it is still the same process.
func (r procRef) kill() {
	if !r.alive() {
		return
	}
	if pgid, err := syscall.Getpgid(r.PID); err == nil && pgid == r.PID {
		_ = syscall.Kill(-r.PID, syscall.SIGKILL)
	}
	_ = syscall.Kill(r.PID, syscall.SIGKILL)
}

func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = syscall.Kill(pid, sig)
	}
}
