"""The stand-in's voice side: voice states on the gateway, a voice websocket (v8) and a UDP voice socket.

What the real discord.py VoiceClient does, and what this answers (discord/voice_state.py, gateway.py):

1. gateway op 4 (channel) → VOICE_STATE_UPDATE (the bot's session id) + VOICE_SERVER_UPDATE (token,
   endpoint "127.0.0.1:<port>"). discord.py always connects to `wss://<endpoint>/?v=8`, so the voice
   websocket speaks TLS with a self-signed certificate for 127.0.0.1; a test gives the bot an aiohttp
   connector that trusts it (`client_ssl_context`).
2. HELLO (op 8) → IDENTIFY (op 0) → READY (op 2: ssrc, ip, UDP port, encryption modes).
3. UDP IP discovery: a 74-byte request (type 1) answered with type 2, the address and port it came from.
4. SELECT_PROTOCOL (op 1: address, port, mode) → SESSION_DESCRIPTION (op 4: mode, a 32-byte secret key,
   dave_protocol_version 0). With version 0 discord.py makes no DAVE session and sends the Opus frames
   with transport encryption only (it would start the MLS handshake, op 26 onwards, for version 1), so
   DAVE itself is exercised only by discord.py and davey, never by these tests.
5. HEARTBEAT (op 3) → HEARTBEAT_ACK (op 6); SPEAKING (op 5) is recorded.
6. RTP packets arrive on UDP; `VoicePacket.opus()` decrypts one (aead_xchacha20_poly1305_rtpsize, as
   discord.py writes it) so that a test can decode it with discord.opus.Decoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import json
import secrets
import socket
import ssl
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import nacl.secret
from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import DiscordStandIn

MODE = "aead_xchacha20_poly1305_rtpsize"
LOOPBACK = "127.0.0.1"


@dataclass
class VoicePacket:
    """One UDP datagram of voice, as received."""

    at: float  # time.monotonic()
    data: bytes

    @property
    def sequence(self) -> int:
        return struct.unpack_from(">H", self.data, 2)[0]

    @property
    def ssrc(self) -> int:
        return struct.unpack_from(">I", self.data, 8)[0]

    def opus(self, secret_key: bytes) -> bytes:
        """The Opus frame inside: header as associated data, a 4-byte nonce counter at the end."""
        header, body, nonce = self.data[:12], self.data[12:-4], self.data[-4:]
        return nacl.secret.Aead(secret_key).decrypt(body, header, nonce + bytes(20))


@dataclass
class VoiceSession:
    """One voice websocket connection and what it carried."""

    user_id: int
    ssrc: int
    secret_key: bytes
    mode: str | None = None
    client_address: tuple[str, int] | None = None
    heartbeats: int = 0
    speaking: list[int] = field(default_factory=list)
    identify: dict[str, Any] = field(default_factory=dict)
    closed: bool = False


class VoiceServer:
    """Voice states, the TLS voice websocket and the UDP socket, for the stand-in's one guild."""

    def __init__(self, standin: DiscordStandIn) -> None:
        self.standin = standin
        self.states: dict[int, dict[str, Any]] = {}  # user id → VOICE_STATE payload, while in a channel
        self.sessions: list[VoiceSession] = []
        self.packets: list[VoicePacket] = []
        self.discoveries = 0
        self.tokens: dict[str, int] = {}  # voice token → user id
        self.client_ssl_context: ssl.SSLContext | None = None
        self.ws_port = 0
        self.udp_port = 0
        self._runner: web.AppRunner | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._changed = asyncio.Condition()
        self._notifying: set[asyncio.Task[None]] = set()  # the loop keeps only weak references to tasks

    # -- life cycle -----------------------------------------------------------------------------------------

    async def start(self) -> None:
        server_context, self.client_ssl_context = _self_signed_contexts()
        app = web.Application()
        app.router.add_get("/", self._voice_socket)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        self.ws_port = listener.getsockname()[1]
        await web.SockSite(self._runner, listener, ssl_context=server_context).start()
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=("127.0.0.1", 0))
        self._udp = transport
        self.udp_port = transport.get_extra_info("sockname")[1]

    async def close(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- voice states (the main gateway) ---------------------------------------------------------------------

    def guild_voice_states(self) -> list[dict[str, Any]]:
        """For GUILD_CREATE: who is in which voice channel (without the member objects, as Discord sends)."""
        hidden = ("member", "guild_id")
        return [{k: v for k, v in state.items() if k not in hidden} for state in self.states.values()]

    async def move(self, user_id: int, channel_id: int | None, *, session_id: str | None = None,
                   self_deaf: bool = False) -> dict[str, Any]:  # fmt: skip
        """Put a user in a voice channel (None: out of voice) and tell the bot with VOICE_STATE_UPDATE."""
        guild = self.standin.guild
        user = next(u for u in guild.members if u.id == user_id)
        state = {
            "guild_id": str(guild.id),
            "channel_id": None if channel_id is None else str(channel_id),
            "user_id": str(user_id),
            "member": guild.member(user),
            "session_id": session_id or secrets.token_hex(16),
            "deaf": False,
            "mute": False,
            "self_deaf": self_deaf,
            "self_mute": False,
            "self_video": False,
            "self_stream": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
        if channel_id is None:
            self.states.pop(user_id, None)
        else:
            self.states[user_id] = state
        if self.standin._socket is not None:  # otherwise the bot learns it from GUILD_CREATE
            await self.standin._dispatch("VOICE_STATE_UPDATE", state)
        await self._notify()
        return state

    async def gateway_op4(self, data: dict[str, Any]) -> None:
        """The bot asks to join, move or leave: its voice state, then (joining) where its voice server is."""
        channel_id = data.get("channel_id")
        bot = self.standin.bot_user
        if channel_id is None:
            await self.move(bot.id, None)
            return
        channel = self.standin._channel(int(channel_id))  # raises for an unknown channel
        await self.move(bot.id, channel.id, self_deaf=bool(data.get("self_deaf")))
        token = secrets.token_hex(8)
        self.tokens[token] = bot.id
        await self.standin._dispatch("VOICE_SERVER_UPDATE", {
            "token": token, "guild_id": str(self.standin.guild.id), "endpoint": f"127.0.0.1:{self.ws_port}",
        })  # fmt: skip

    def channel_of(self, user_id: int) -> int | None:
        state = self.states.get(user_id)
        return int(state["channel_id"]) if state and state["channel_id"] else None

    # -- waiting ---------------------------------------------------------------------------------------------

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Until `condition()` holds: checked on every voice event, and every 10 ms for anything else
        (messages the bot edits, say)."""

        async def wait() -> None:
            async with self._changed:
                while not condition():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.01)

        await asyncio.wait_for(wait(), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- the voice websocket ---------------------------------------------------------------------------------

    async def _voice_socket(self, request: web.Request) -> web.WebSocketResponse:
        if request.query.get("v") != "8":
            raise web.HTTPBadRequest(text="voice gateway version 8 only")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session: VoiceSession | None = None
        await ws.send_json({"op": 8, "d": {"heartbeat_interval": 41_250}})
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                continue
            message = json.loads(frame.data)
            op, data = message["op"], message["d"]
            if op == 0:
                session = await self._identify(ws, data)
                if session is None:
                    break
            elif op == 3:
                if session is not None:
                    session.heartbeats += 1
                await ws.send_json({"op": 6, "d": {"t": data.get("t")}})
            elif op == 1 and session is not None:
                session.mode = data["data"]["mode"]
                description = {"mode": session.mode, "secret_key": list(session.secret_key),
                               "dave_protocol_version": 0}  # fmt: skip
                await ws.send_json({"op": 4, "d": description})
            elif op == 5 and session is not None:
                session.speaking.append(int(data["speaking"]))
            await self._notify()
        if session is not None:
            session.closed = True
        await self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> VoiceSession | None:
        user_id = self.tokens.get(data.get("token", ""))
        state = self.states.get(int(data.get("user_id", 0)))
        if user_id is None or state is None or state["session_id"] != data.get("session_id"):
            await ws.close(code=4006, message=b"Session is no longer valid.")
            return None
        session = VoiceSession(user_id, ssrc=len(self.sessions) + 1000, secret_key=secrets.token_bytes(32))
        session.identify = data
        self.sessions.append(session)
        ready = {"ssrc": session.ssrc, "ip": "127.0.0.1", "port": self.udp_port,
                 "modes": [MODE, "xsalsa20_poly1305"]}  # fmt: skip
        await ws.send_json({"op": 2, "d": ready})
        return session

    # -- UDP -------------------------------------------------------------------------------------------------

    def _datagram(self, data: bytes, address: tuple[str, int]) -> None:
        if len(data) == 74 and data[:2] == b"\x00\x01":  # IP discovery
            ssrc = struct.unpack_from(">I", data, 4)[0]
            answer = bytearray(74)
            struct.pack_into(">HHI", answer, 0, 2, 70, ssrc)
            answer[8 : 8 + len(address[0])] = address[0].encode()
            struct.pack_into(">H", answer, 72, address[1])
            assert self._udp is not None
            self._udp.sendto(bytes(answer), address)
            self.discoveries += 1
            for session in self.sessions:
                if session.ssrc == ssrc:
                    session.client_address = address
        elif len(data) > 12 and data[0] == 0x80:  # RTP, version 2
            self.packets.append(VoicePacket(time.monotonic(), data))
            if len(self.packets) % 25 == 1:
                task = asyncio.get_running_loop().create_task(self._notify())
                self._notifying.add(task)
                task.add_done_callback(self._notifying.discard)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: VoiceServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server._datagram(data, addr)


def _self_signed_contexts() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a fresh certificate for 127.0.0.1, and a client context that trusts only it."""
    import tempfile

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "discord stand-in voice")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(LOOPBACK))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:  # ssl loads chains from files only
        cert_file, key_file = f"{folder}/cert.pem", f"{folder}/key.pem"
        with open(cert_file, "wb") as out:
            out.write(cert_pem)
        with open(key_file, "wb") as out:
            out.write(key_pem)
        server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cadata=cert_pem.decode())
    return server, client
