/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package localenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// process is a child process whose output goes to a log file.
type process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
	err     error
}

// spawnRequests are served by one goroutine locked to its OS thread for the life of the program: Linux delivers
// a child's parent-death signal when the thread that forked it exits, so forking from that thread makes the
// children stop when this program dies, even without running its cleanup (a test timeout or SIGKILL).
var spawnRequests = make(chan spawnRequest)

type spawnRequest struct {
	cmd   *exec.Cmd
	reply chan error
}

func init() {
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the program
		for req := range spawnRequests {
			req.reply <- req.cmd.Start()
		}
	}()
}

// startProcess starts bin with args and env (added to this program's environment), writing its stdout and
// stderr to logPath. The child gets SIGTERM when this program dies and runs in its own process group, so a
// Ctrl-C in the terminal reaches only this program, which then stops the children in order.
func startProcess(name, logPath string, env []string, bin string, args ...string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	return startCommand(name, logPath, cmd)
}

// startCommand starts cmd as startProcess does, with exactly the environment and working directory cmd sets (the
// kubelet stand-in gives a container only its own environment).
func startCommand(name, logPath string, cmd *exec.Cmd) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	reply := make(chan error, 1)
	spawnRequests <- spawnRequest{cmd: cmd, reply: reply}
	if err := <-reply; err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("failed to start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the process's exit code once it has ended, as a container runtime reports it: 128 plus the signal
// number when a signal ended it (143 for SIGTERM, 137 for SIGKILL).
func (p *process) exitCode() int32 {
	<-p.done
	if p.cmd.ProcessState == nil {
		return -1
	}
	code := p.cmd.ProcessState.ExitCode()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	if code < 0 || code > 255 {
		return -1
	}
	return int32(code)
}

// stop sends SIGTERM and waits up to grace before killing the process.
func (p *process) stop(grace time.Duration) error {
	if p.exited() {
		return nil
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", p.name, grace)
	}
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPPort returns a free UDP port on 127.0.0.1.
func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// loopback returns 127.0.0.1:port.
func loopback(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// waitHTTPOK polls url until it answers 200, the process exits, or the timeout passes.
func waitHTTPOK(ctx context.Context, p *process, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if p != nil && p.exited() {
			return fmt.Errorf("%s exited: %v (log: %s)", p.name, p.err, p.logPath)
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("%s not ready at %s within %s", nameOf(p), url, timeout), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func nameOf(p *process) string {
	if p == nil {
		return "server"
	}
	return p.name
}
