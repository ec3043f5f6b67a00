//go:build !linux && !windows

package lambdahost

import "syscall"

func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// procRef is a process id; without /proc the host cannot see the emulator's
// children, and relies on the emulator stopping its runtime on SIGTERM.
type procRef struct{ PID int }

func childProcs(int) []procRef { return nil }

func (procRef) alive() bool { return false }

func (procRef) kill() {}

func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = syscall.Kill(pid, sig)
	}
}
