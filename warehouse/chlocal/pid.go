package chlocal

// PID is the server's process id, for tools that watch its CPU and memory.
func (s *Server) PID() int { return s.cmd.Process.Pid }
