"""Socket Mode: apps.connections.open tickets, the WebSocket endpoint, envelopes and their acks."""

import asyncio
import json
import time
import uuid

from aiohttp import WSMsgType, web


class SocketMode:
    """FakeSlack's Socket Mode side. Connections and ack waiters live on the server loop's thread only."""

    def socket_connected(self, timeout: float = 5.0) -> bool:
        """Wait until a Socket Mode client is connected."""
        return self._socket_ready.wait(timeout)

    def socket_send(self, type: str, payload: dict, timeout: float = 5.0) -> dict:
        """Deliver an envelope to the newest Socket Mode connection and return the client's ack.

        Raises TimeoutError if no client is connected or none acknowledges within ``timeout``.
        """
        deadline = time.monotonic() + timeout
        if not self.socket_connected(timeout):
            raise TimeoutError("no Socket Mode client connected")
        envelope = {
            "envelope_id": str(uuid.uuid4()),
            "type": type,
            "payload": payload,
            "accepts_response_payload": type != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        remaining = max(0.0, deadline - time.monotonic())
        return asyncio.run_coroutine_threadsafe(self._socket_send(envelope, remaining), self._loop).result()

    def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask connected clients to reconnect, as Slack does before recycling a connection."""
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fakeslack-socket"}}
        asyncio.run_coroutine_threadsafe(self._broadcast(message), self._loop).result(timeout=5)

    def _apps_connections_open(self, params: dict) -> dict:
        if self.socket_url is not None:  # a test's stand-in for a websocket endpoint that never answers
            return {"url": self.socket_url}
        ticket = uuid.uuid4().hex
        self._socket_tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/socket?ticket={ticket}&app_id={self.app_id}"}

    async def _socket_send(self, envelope: dict, timeout: float) -> dict:
        if not self._sockets:
            raise TimeoutError("the Socket Mode client disconnected")
        ack = self._loop.create_future()
        self._pending_acks[envelope["envelope_id"]] = ack
        try:
            await self._sockets[-1].send_json(envelope)
            return await asyncio.wait_for(ack, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"no ack for {envelope['type']} envelope within {timeout:.1f}s") from None
        finally:
            self._pending_acks.pop(envelope["envelope_id"], None)

    async def _broadcast(self, message: dict) -> None:
        for ws in list(self._sockets):
            await ws.send_json(message)

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            known_ticket = request.query.get("ticket") in self._socket_tickets
        if not known_ticket:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        self._socket_ready.set()
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self._sockets),
                    "debug_info": {"host": "fakeslack-socket", "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.app_id},
                }
            )
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._receive_ack(frame.data)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._socket_ready.clear()
        return ws

    def _receive_ack(self, raw: str) -> None:
        try:
            ack = json.loads(raw)
        except ValueError:
            return
        waiter = self._pending_acks.get(ack.get("envelope_id")) if isinstance(ack, dict) else None
        if waiter is not None and not waiter.done():
            waiter.set_result(ack)
