import type { WebSocket } from 'ws';

/**
 * Pings `socket` every `intervalMs` and terminates it when the previous ping got no pong: a peer
 * that vanished without a close frame (cable, NAT timeout, frozen process) is noticed within two
 * intervals. Used for client connections and for the node sockets. Returns the stop function.
 */
export function keepAlive(socket: WebSocket, intervalMs: number): () => void {
  let alive = true;
  socket.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) {
      socket.terminate();
      return;
    }
    alive = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
