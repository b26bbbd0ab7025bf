"""A local stand-in for the parts of Discord that the bot uses: REST API v10 and the gateway, over loopback.

The real discord.py client talks to it (see plugin.py for how it is pointed here). It records every request
the bot makes and lets a test play the Discord side: slash commands, button clicks, select menus, modal
submits, message (context menu) commands, and messages and replies arrive over the gateway exactly as
Discord would send them.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .payloads import (
    ATTACHMENT_SIZE_LIMIT,
    CONNECT,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    SPEAK,
    FakeChannel,
    FakeGuild,
    FakeUser,
    Snowflakes,
    application,
    now_iso,
    option_payloads,
    walk_components,
)
from .voice import VoiceServer

API = "/api/v10"
WAIT_S = 10.0  # a safety net for waits, far above anything a passing test needs


@dataclass
class RecordedFile:
    field: str  # the multipart field, e.g. "files[0]"
    filename: str
    data: bytes


@dataclass
class RecordedRequest:
    """One request the bot made: its JSON (or a multipart request's payload_json) and its files."""

    method: str
    path: str  # below /api/v10, e.g. "/interactions/123/abc/callback"
    query: dict[str, str]
    json: Any
    files: list[RecordedFile] = field(default_factory=list)
    status: int = 0

    def text(self) -> str:
        """Everything it carried, as text: for checking what a user could ever see."""
        parts = [json.dumps(self.json, ensure_ascii=False)]
        parts += [f.data.decode("utf-8", "replace") for f in self.files]
        return "\n".join(parts)


RECORDED = web.RequestKey("recorded", RecordedRequest)


@dataclass
class InteractionState:
    id: int
    token: str
    payload: dict[str, Any]
    channel: FakeChannel
    response_type: int | None = None
    original_id: int | None = None  # the message @original means
    modal: dict[str, Any] | None = None


def json_response(body: Any, status: int = 200) -> web.Response:
    """JSON with the bare content type Discord sends: discord.py parses no other (not even with a charset)."""
    return web.Response(body=json.dumps(body).encode(), status=status, content_type="application/json")


class DiscordError(Exception):
    """An error answer in Discord's shape: HTTP status, JSON error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Injected:
    """What a test sent (an interaction or a message): wait for, and read, what the bot did about it."""

    def __init__(
        self, standin: DiscordStandIn, payload: dict[str, Any], since: int, token: str | None
    ) -> None:
        self.standin = standin
        self.payload = payload
        self.id = int(payload["id"])
        self.since = since
        self.token = token

    def requests(self) -> list[RecordedRequest]:
        """The bot's requests since this was sent, less those answering other interactions."""
        return [r for r in self.standin.requests[self.since :] if self._mine(r)]

    async def wait_for(self, method: str, path: str = "", **kwargs: Any) -> RecordedRequest:
        """The first request since this was sent with this method whose path matches the regex `path`."""
        return await self.standin.wait_for(
            lambda r: self._mine(r) and r.method == method and re.search(path, r.path) is not None,
            since=self.since,
            **kwargs,
        )

    async def callback(self) -> RecordedRequest:
        """The bot's initial response to this interaction."""
        return await self.wait_for("POST", r"/callback$")

    def original(self) -> dict[str, Any] | None:
        """The interaction's original response message as it stands now (edits applied)."""
        state = self.standin.interactions[self.token] if self.token else None
        return self.standin.messages.get(state.original_id) if state and state.original_id else None

    def _mine(self, request: RecordedRequest) -> bool:
        """Requests on another interaction's token are not this one's doing; channel posts may be."""
        on_a_token = request.path.startswith(("/interactions/", "/webhooks/"))
        return not on_a_token or (self.token is not None and f"/{self.token}" in request.path)


class DiscordStandIn:
    """Discord's REST API and gateway on a free loopback port, for one bot at a time."""

    def __init__(self, *, token: str = "standin-bot-token") -> None:
        self.token = token
        self.ids = Snowflakes()
        self.application_id = self.ids()
        self.bot_user = FakeUser(self.application_id, "Jam", bot=True)
        self.alice = FakeUser(self.ids(), "alice")
        self.bob = FakeUser(self.ids(), "bob", admin=True)
        guild_id = self.ids()
        self.guild = FakeGuild(guild_id, "Jam Session", owner_id=self.bob.id, admins_role_id=self.ids())
        self.guild.channels += [FakeChannel(self.ids(), "general", guild_id),
                                FakeChannel(self.ids(), "jam", guild_id, position=1)]  # fmt: skip
        # Voice channels (tests/discord_standin/voice.py): two open, one where Jam may not speak, one it may
        # not join.
        voice = [("Lounge", 0), ("Studio", 0), ("Quiet", SPEAK), ("Locked", CONNECT)]
        self.guild.channels += [
            FakeChannel(self.ids(), name, guild_id, position=position, voice=True, denied=denied)
            for position, (name, denied) in enumerate(voice, start=2)
        ]
        self.guild.members += [self.bot_user, self.alice, self.bob]
        self.general = self.guild.channel("general")

        self.requests: list[RecordedRequest] = []
        self.identifies: list[dict[str, Any]] = []  # the IDENTIFY payloads, tokens included
        self.resumes: list[dict[str, Any]] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # None: global commands
        self.messages: dict[int, dict[str, Any]] = {}
        self.interactions: dict[str, InteractionState] = {}
        self.dm_channels: dict[int, FakeChannel] = {}
        self.session_id = secrets.token_hex(16)
        self._sequence = 0
        self._socket: web.WebSocketResponse | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Condition()
        self._connected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.voice = VoiceServer(self)

    # -- addresses and life cycle --------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """What discord.http.Route.BASE must be set to."""
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        """What DiscordWebSocket.DEFAULT_GATEWAY must be set to; READY's resume_gateway_url too."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def intents(self) -> int:
        return self.identifies[-1].get("intents", 0) if self.identifies else 0

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record], client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        routes = [
            ("GET", "/users/@me", self._me),
            ("GET", "/users/{user_id:\\d+}", self._user),
            ("POST", "/users/@me/channels", self._open_dm),
            ("GET", "/oauth2/applications/@me", self._application),
            ("GET", "/gateway", self._gateway_info),
            ("GET", "/gateway/bot", self._gateway_info),
            ("GET", "/applications/{app_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/commands", self._put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback),
            ("POST", "/webhooks/{app_id}/{token}", self._followup),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_message),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_message),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._webhook_message),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._channel_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._channel_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._channel_message),
            ("POST", "/channels/{channel_id}/typing", self._typing),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API + path, handler)
        app.router.add_route("*", API + "/{tail:.*}", self._not_implemented)

        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        await web.SockSite(self._runner, listener).start()
        await self.voice.start()

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.voice.close()

    # -- what the bot sent ---------------------------------------------------------------------------

    async def wait_for(
        self, predicate: Callable[[RecordedRequest], bool], *, since: int = 0, timeout: float = WAIT_S
    ) -> RecordedRequest:
        """The first recorded request (from index `since`) that satisfies `predicate`, waiting for it."""

        async def scan() -> RecordedRequest:
            async with self._changed:
                while True:
                    for request in self.requests[since:]:
                        if predicate(request):
                            return request
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            sent = (
                "\n".join(f"  {r.status} {r.method} {r.path}" for r in self.requests[since:]) or "  nothing"
            )
            raise AssertionError(
                f"no such request within {timeout:.0f} s; since then the bot sent:\n{sent}"
            ) from None

    def sent_text(self) -> str:
        """Everything the bot ever sent, as text."""
        return "\n".join(r.text() for r in self.requests)

    def synced_command_names(self, guild_id: int | None = None) -> list[str]:
        return [c["name"] for c in self.commands.get(guild_id, [])]

    # -- playing the Discord side ----------------------------------------------------------------------

    async def wait_connected(self) -> None:
        """Until a bot has identified (or resumed) on the gateway."""
        await self._connected.wait()

    async def send_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | None = None,
        locale: str = "en-US",
        message: dict[str, Any] | None = None,
    ) -> Injected:
        """INTERACTION_CREATE of any type (2 command, 3 component, 4 autocomplete, 5 modal submit)."""
        user = user or self.alice
        channel = channel or self.general
        interaction_id, token = self.ids(), secrets.token_urlsafe(48)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "locale": locale,
            "app_permissions": str(self.guild.permissions(self.bot_user)),
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel_id": str(channel.id),
            "channel": channel.payload(),
        }
        if channel.guild_id is None:
            payload |= {"user": user.payload(), "context": 1, "authorizing_integration_owners": {"0": "0"}}
        else:
            payload |= {
                "guild_id": str(self.guild.id),
                "guild": {"id": str(self.guild.id), "locale": self.guild.locale, "features": []},
                "guild_locale": self.guild.locale,
                "member": self.guild.member(user, with_permissions=True),
                "context": 0,
                "authorizing_integration_owners": {"0": str(self.guild.id)},
            }
        if message is not None:
            payload["message"] = message
        since = len(self.requests)
        self.interactions[token] = InteractionState(interaction_id, token, payload, channel)
        await self._dispatch("INTERACTION_CREATE", payload)
        return Injected(self, payload, since, token)

    async def slash(
        self,
        command: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        *,
        user: FakeUser | None = None,
        channel: FakeChannel | None = None,
        dm: bool = False,
        locale: str = "en-US",
    ) -> Injected:
        """A slash command as synced by the bot: "help", or "jamadmin channels add" for (grouped) subcommands.

        Options are plain values by name ({"bars": 8}), or Discord's raw option dicts.
        """
        user = user or self.alice
        channel = self.dm_channel(user) if dm else channel or self.general
        name, *path = command.split()
        synced = self._synced_command(name, in_guild=channel.guild_id is not None)
        raw = option_payloads(options) if isinstance(options, dict) else list(options or [])
        for depth, part in reversed(list(enumerate(path))):
            raw = [{"type": 1 if depth == len(path) - 1 else 2, "name": part, "options": raw}]
        data = {"id": synced["id"], "name": name, "type": 1, "options": raw}
        if "guild_id" in synced:
            data["guild_id"] = synced["guild_id"]
        return await self.send_interaction(2, data, user=user, channel=channel, locale=locale)

    async def message_command(
        self,
        name: str,
        message_id: int,
        *,
        user: FakeUser | None = None,
        locale: str = "en-US",
    ) -> Injected:
        """A message command (the Apps menu, e.g. "Answer with Jam") on a stored message, as Discord sends it:
        data type 3 with `target_id` and the whole message, content included whatever the intents, under
        `resolved.messages`."""
        message = self.messages[message_id]
        channel = self._channel(int(message["channel_id"]))
        synced = self._synced_command(name, in_guild=channel.guild_id is not None, kind=3)
        data: dict[str, Any] = {"id": synced["id"], "name": name, "type": 3, "target_id": str(message_id),
                                "resolved": {"messages": {str(message_id): message}}}  # fmt: skip
        if "guild_id" in synced:
            data["guild_id"] = synced["guild_id"]
        return await self.send_interaction(2, data, user=user, channel=channel, locale=locale)

    async def click(
        self,
        custom_id: str,
        values: list[str] | None = None,
        *,
        user: FakeUser | None = None,
        locale: str = "en-US",
    ) -> Injected:
        """Press the button (or pick `values` in the select) with this custom_id on the newest message."""
        message, component = self._find_component(custom_id)
        if component.get("disabled"):
            raise AssertionError(f"component {custom_id!r} is disabled: Discord would not let anyone use it")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if component["type"] != 2:
            data["values"] = values or []
        channel = self._channel(int(message["channel_id"]))
        return await self.send_interaction(
            3, data, user=user, channel=channel, locale=locale, message=message
        )

    async def submit_modal(
        self, values: dict[str, str | list[str]], *, opened_by: Injected | None = None, locale: str = "en-US"
    ) -> Injected:
        """Fill in and submit the modal the bot opened: the newest, or its answer to `opened_by`."""
        opener = self._modal_opener(opened_by)
        assert opener.modal is not None
        user_data = opener.payload.get("member", {}).get("user") or opener.payload["user"]
        user = next(u for u in self.guild.members if str(u.id) == user_data["id"])

        def answer(component: dict[str, Any]) -> dict[str, Any]:
            if component["type"] == 1:
                return {"type": 1, "components": [answer(c) for c in component["components"]]}
            if component["type"] == 18:
                return {"type": 18, "component": answer(component["component"])}
            given = values.get(component.get("custom_id", ""), component.get("value", ""))
            if component["type"] == 4:
                return {"type": 4, "custom_id": component["custom_id"], "value": given}
            return {"type": component["type"], "custom_id": component.get("custom_id"),
                    "values": given if isinstance(given, list) else [given]}  # fmt: skip

        answers = [answer(c) for c in opener.modal["components"] if c["type"] in (1, 18)]
        data = {"custom_id": opener.modal["custom_id"], "components": answers}
        return await self.send_interaction(
            5, data, user=user, channel=opener.channel, locale=locale, message=opener.payload.get("message")
        )

    async def send_message(
        self,
        content: str,
        *,
        author: FakeUser | None = None,
        channel: FakeChannel | None = None,
        dm: bool = False,
        mention_bot: bool = False,
        attachments: list[dict[str, Any]] | None = None,
        reply_to: int | None = None,
        referenced: str = "inline",
        unseen: bool = False,
        flags: int = 0,
    ) -> Injected:
        """MESSAGE_CREATE from a person, in a server channel or a DM, optionally mentioning the bot.

        Like Discord, a server message that does not mention the bot arrives with empty content (and no
        attachments) unless the bot asked for the privileged message content intent. `attachments` are
        Discord's attachment objects (url, filename, size...), stored with the message.

        `reply_to` makes it a reply to that stored message (type 19, `message_reference`). Discord sends the
        message replied to along as `referenced_message` ("inline"; blanked like any other message the
        bot may not read), or null when it did not load it ("null"; the bot must GET it), or leaves the
        field out ("absent"). An `unseen` message is stored but never sent to the bot, as one posted while it
        was offline: the bot can only GET it. `flags` are the message's (FLAG_VOICE_MESSAGE with one
        `payloads.voice_attachment` and no content: a voice message).
        """
        author = author or self.alice
        channel = self.dm_channel(author) if dm else channel or self.general
        if mention_bot:
            content = f"{self.bot_user.mention} {content}"
        message = self._new_message(channel, author, {"content": content}, [])
        message["attachments"] = list(attachments or [])
        message["flags"] = flags
        if mention_bot:
            message["mentions"] = [self.bot_user.payload()]
        if reply_to is not None:
            original = self.messages[reply_to]
            message["type"] = 19
            message["message_reference"] = {"type": 0, "message_id": str(reply_to),
                                            "channel_id": original["channel_id"]}  # fmt: skip
            if channel.guild_id is not None:
                message["message_reference"]["guild_id"] = str(channel.guild_id)
            if referenced != "absent":
                message["referenced_message"] = self._as_seen(original) if referenced == "inline" else None
        self.messages[int(message["id"])] = message
        event = self._as_seen(message)
        if channel.guild_id is not None:
            event |= {"guild_id": str(channel.guild_id), "member": self.guild.member(author)}
        since = len(self.requests)
        if not unseen:
            await self._dispatch("MESSAGE_CREATE", event)
        return Injected(self, event, since, None)

    def _as_seen(self, message: dict[str, Any]) -> dict[str, Any]:
        """A message as the bot receives it, over the gateway or by GET: without the message content intent,
        a server message by someone else that does not mention the bot comes blank."""
        seen = dict(message)
        in_guild = self._channel(int(message["channel_id"])).guild_id is not None
        readable = (
            not in_guild
            or self.intents & INTENT_MESSAGE_CONTENT
            or message["author"]["id"] == str(self.bot_user.id)
            or any(m["id"] == str(self.bot_user.id) for m in message.get("mentions", []))
        )
        if not readable:
            seen |= {"content": "", "embeds": [], "attachments": [], "components": []}
        return seen

    async def request_reconnect(self) -> None:
        """Send RECONNECT (op 7), as Discord does before moving a session; the bot should RESUME here."""
        resumed = len(self.resumes)
        self._connected.clear()
        await self._send({"op": 7, "d": None, "s": None, "t": None})
        await asyncio.wait_for(self._connected.wait(), WAIT_S)
        assert len(self.resumes) == resumed + 1, "the bot identified anew instead of resuming"

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        if user.id not in self.dm_channels:
            self.dm_channels[user.id] = FakeChannel(self.ids(), f"dm-{user.name}", None, recipient=user)
        return self.dm_channels[user.id]

    # -- gateway -----------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        self._sockets.add(ws)
        try:
            await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41_250}, "s": None, "t": None})
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                op = message["op"]
                if op == 1:
                    await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
                elif op == 2:
                    await self._identify(ws, message["d"])
                elif op == 6:
                    await self._resume(ws, message["d"])
                elif op == 4:
                    await self.voice.gateway_op4(message["d"])
        finally:
            self._sockets.discard(ws)
            if self._socket is ws:
                self._socket = None
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return
        self.identifies.append(data)
        self._socket, self._sequence = ws, 0
        await self._dispatch("READY", {
            "v": 10,
            "user": self.bot_user.payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(self.guild.id), "unavailable": True}],
            "session_id": self.session_id,
            "resume_gateway_url": self.gateway_url,
            "session_type": "normal",
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "geo_ordered_rtc_regions": [],
        })  # fmt: skip
        members = bool(self.intents & INTENT_GUILD_MEMBERS)
        guild = self.guild.create_event(with_all_members=members)
        await self._dispatch("GUILD_CREATE", guild | {"voice_states": self.voice.guild_voice_states()})
        self._connected.set()

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data.get("token") != self.token or data.get("session_id") != self.session_id:
            await ws.send_json({"op": 9, "d": False, "s": None, "t": None})  # invalid session: identify anew
            return
        self.resumes.append(data)
        self._socket = ws
        await self._dispatch("RESUMED", {})
        self._connected.set()

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        self._sequence += 1
        await self._send({"op": 0, "t": event, "s": self._sequence, "d": data})

    async def _send(self, frame: dict[str, Any]) -> None:
        if self._socket is None:
            raise RuntimeError("no bot is connected to the stand-in's gateway")
        await self._socket.send_json(frame)

    async def _echo(self, message: dict[str, Any], channel: FakeChannel) -> None:
        """MESSAGE_CREATE for what the bot posted, as Discord sends it to the bot too (when it listens)."""
        in_guild = channel.guild_id is not None
        wanted = INTENT_GUILD_MESSAGES if in_guild else INTENT_DIRECT_MESSAGES
        if self._socket is None or not self.intents & wanted or message["flags"] & FLAG_EPHEMERAL:
            return
        event = dict(message)
        if in_guild:
            event |= {"guild_id": str(channel.guild_id), "member": self.guild.member(self.bot_user)}
        await self._dispatch("MESSAGE_CREATE", event)

    # -- REST: recording, errors -------------------------------------------------------------------------

    @web.middleware
    async def _record(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if not request.path.startswith(API):
            return await handler(request)
        path = request.path[len(API) :]
        payload, files = await _read_body(request)
        recorded = RecordedRequest(request.method, path, dict(request.query), payload, files)
        request[RECORDED] = recorded
        try:
            webhook = path.startswith(("/interactions/", "/webhooks/"))  # these carry their own token
            if not webhook and request.headers.get("Authorization") != f"Bot {self.token}":
                raise DiscordError(401, 0, "401: Unauthorized")
            response = await handler(request)
        except DiscordError as error:
            response = json_response({"code": error.code, "message": error.message}, status=error.status)
        recorded.status = response.status
        async with self._changed:
            self.requests.append(recorded)
            self._changed.notify_all()
        return response

    async def _not_implemented(self, request: web.Request) -> web.Response:
        raise DiscordError(404, 0, f"the stand-in does not implement {request.method} {request.path}")

    # -- REST: users, application, gateway info, commands ----------------------------------------------

    async def _me(self, request: web.Request) -> web.Response:
        return json_response(self.bot_user.payload() | {"verified": True, "mfa_enabled": False})

    async def _user(self, request: web.Request) -> web.Response:
        user_id = int(request.match_info["user_id"])
        user = next((u for u in self.guild.members if u.id == user_id), None)
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return json_response(user.payload())

    async def _open_dm(self, request: web.Request) -> web.Response:
        recipient = int(request[RECORDED].json["recipient_id"])
        user = next((u for u in self.guild.members if u.id == recipient), None)
        if user is None:
            raise DiscordError(404, 10013, "Unknown User")
        return json_response(self.dm_channel(user).payload())

    async def _application(self, request: web.Request) -> web.Response:
        return json_response(application(self.application_id, self.bob, self.bot_user.name))

    async def _gateway_info(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return json_response({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    def _command_scope(self, request: web.Request) -> int | None:
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordError(404, 10002, "Unknown Application")
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None and int(guild_id) != self.guild.id:
            raise DiscordError(403, 50001, "Missing Access")
        return None if guild_id is None else int(guild_id)

    async def _get_commands(self, request: web.Request) -> web.Response:
        return json_response(self.commands.get(self._command_scope(request), []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite: a command keeps its id while its name stays, as on Discord."""
        scope = self._command_scope(request)
        known = {c["name"]: c["id"] for c in self.commands.get(scope, [])}
        stored = []
        for command in request[RECORDED].json:
            entry = {
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
            } | command
            entry |= {
                "id": known.get(command["name"]) or str(self.ids()),
                "application_id": str(self.application_id),
                "version": str(self.ids()),
            }
            if scope is not None:
                entry["guild_id"] = str(scope)
            stored.append(entry)
        self.commands[scope] = stored
        return json_response(stored)

    def _synced_command(self, name: str, *, in_guild: bool, kind: int = 1) -> dict[str, Any]:
        scopes = [self.guild.id, None] if in_guild else [None]
        for scope in scopes:
            for command in self.commands.get(scope, []):
                if command["name"] == name and command["type"] == kind:
                    return command
        raise AssertionError(f"the bot has not synced a command /{name} (synced: {self.commands})")

    # -- REST: interactions and their webhooks ------------------------------------------------------------

    async def _interaction_callback(self, request: web.Request) -> web.StreamResponse:
        state = self.interactions.get(request.match_info["token"])
        if state is None or state.id != int(request.match_info["interaction_id"]):
            raise DiscordError(404, 10062, "Unknown interaction")
        if state.response_type is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        recorded: RecordedRequest = request[RECORDED]
        kind = recorded.json["type"]
        data = recorded.json.get("data") or {}
        state.response_type = kind
        flags = data.get("flags", 0)
        info: dict[str, Any] = {"id": str(state.id), "type": state.payload["type"],
                                "response_message_loading": kind == 5,
                                "response_message_ephemeral": bool(flags & FLAG_EPHEMERAL)}  # fmt: skip
        resource: dict[str, Any] = {"type": kind}
        if kind in (4, 5):  # a new message; a deferred one shows "thinking" until edited
            body = data if kind == 4 else {"flags": flags | FLAG_LOADING}
            message = self._new_message(state.channel, self.bot_user, body, recorded.files, interaction=state)
            state.original_id = int(message["id"])
            self.messages[state.original_id] = message
            info["response_message_id"] = message["id"]
            resource["message"] = message
            await self._echo(message, state.channel)
        elif kind in (6, 7):  # on a component: @original is the message the component is on
            if "message" not in state.payload:
                raise DiscordError(400, 50035, "Invalid Form Body: this interaction has no message to update")
            state.original_id = int(state.payload["message"]["id"])
            if kind == 7:
                resource["message"] = self._edit(state.original_id, data, recorded.files)
        elif kind == 9:
            state.modal = data
        if recorded.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        return json_response({"interaction": info, "resource": resource})

    def _webhook_interaction(self, request: web.Request) -> InteractionState:
        state = self.interactions.get(request.match_info["token"])
        if (
            int(request.match_info["app_id"]) != self.application_id
            or state is None
            or state.response_type is None
        ):
            raise DiscordError(404, 10015, "Unknown Webhook")
        return state

    async def _followup(self, request: web.Request) -> web.Response:
        state = self._webhook_interaction(request)
        recorded: RecordedRequest = request[RECORDED]
        original = self.messages.get(state.original_id or 0)
        if original is not None and original["flags"] & FLAG_LOADING:
            # After a "thinking" defer, Discord turns the first followup into an edit of the loading message.
            message = self._edit(int(original["id"]), recorded.json, recorded.files)
        else:
            message = self._new_message(
                state.channel, self.bot_user, recorded.json, recorded.files, interaction=state
            )
            self.messages[int(message["id"])] = message
            await self._echo(message, state.channel)
        if recorded.query.get("wait") in ("1", "true", "True"):
            return json_response(message)
        return web.Response(status=204)

    async def _webhook_message(self, request: web.Request) -> web.Response:
        state = self._webhook_interaction(request)
        wanted = request.match_info["message_id"]
        message_id = state.original_id if wanted == "@original" else int(wanted)
        if message_id is None or message_id not in self.messages:
            raise DiscordError(404, 10008, "Unknown Message")
        return self._message_verb(request, message_id)

    # -- REST: channels and messages ------------------------------------------------------------------------

    def _channel(self, channel_id: int) -> FakeChannel:
        channels = [*self.guild.channels, *self.dm_channels.values()]
        channel = next((c for c in channels if c.id == channel_id), None)
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    async def _get_channel(self, request: web.Request) -> web.Response:
        return json_response(self._channel(int(request.match_info["channel_id"])).payload())

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = self._channel(int(request.match_info["channel_id"]))
        recorded: RecordedRequest = request[RECORDED]
        message = self._new_message(channel, self.bot_user, recorded.json, recorded.files)
        self.messages[int(message["id"])] = message
        await self._echo(message, channel)
        return json_response(message)

    async def _channel_message(self, request: web.Request) -> web.Response:
        channel = self._channel(int(request.match_info["channel_id"]))
        message_id = int(request.match_info["message_id"])
        message = self.messages.get(message_id)
        if message is None or message["channel_id"] != str(channel.id):
            raise DiscordError(404, 10008, "Unknown Message")
        if request.method != "GET" and message["author"]["id"] != str(self.bot_user.id):
            raise DiscordError(403, 50005, "Cannot edit a message authored by another user")
        return self._message_verb(request, message_id)

    def _message_verb(self, request: web.Request, message_id: int) -> web.Response:
        if request.method == "DELETE":
            del self.messages[message_id]
            return web.Response(status=204)
        if request.method == "PATCH":
            recorded: RecordedRequest = request[RECORDED]
            return json_response(self._edit(message_id, recorded.json or {}, recorded.files))
        return json_response(self._as_seen(self.messages[message_id]))  # blanked as over the gateway

    async def _typing(self, request: web.Request) -> web.Response:
        self._channel(int(request.match_info["channel_id"]))
        return web.Response(status=204)

    def _find_component(self, custom_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        for message in reversed(self.messages.values()):
            for component in walk_components(message.get("components", [])):
                if component.get("custom_id") == custom_id:
                    return message, component
        raise AssertionError(f"no message has a component with custom_id {custom_id!r}")

    def _modal_opener(self, opened_by: Injected | None) -> InteractionState:
        if opened_by is not None:
            state = self.interactions[opened_by.token or ""]
            if state.modal is None:
                raise AssertionError("the bot did not answer that interaction with a modal")
            return state
        opened = [s for s in self.interactions.values() if s.modal is not None]
        if not opened:
            raise AssertionError("the bot has not opened any modal")
        return opened[-1]

    # -- messages ------------------------------------------------------------------------------------------

    def _new_message(
        self,
        channel: FakeChannel,
        author: FakeUser,
        data: dict[str, Any] | None,
        files: list[RecordedFile],
        *,
        interaction: InteractionState | None = None,
    ) -> dict[str, Any]:
        data = data or {}
        message_id = self.ids()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel.id),
            "author": author.payload(),
            "content": data.get("content") or "",
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": bool(data.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(channel.id, data, files, []),
            "embeds": data.get("embeds") or [],
            "components": data.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": data.get("flags") or 0,
        }
        if "message_reference" in data:
            message["message_reference"] = data["message_reference"]
            message["type"] = 19
        if interaction is not None:
            invoker = interaction.payload.get("member", {}).get("user") or interaction.payload["user"]
            metadata = {"id": str(interaction.id), "type": interaction.payload["type"], "user": invoker,
                        "authorizing_integration_owners": {}}  # fmt: skip
            message |= {"webhook_id": str(self.application_id), "application_id": str(self.application_id),
                        "interaction_metadata": metadata}  # fmt: skip
            if interaction.payload["type"] == 2:
                message["type"] = 20
        return message

    def _edit(self, message_id: int, data: dict[str, Any], files: list[RecordedFile]) -> dict[str, Any]:
        """Apply an edit: only the fields sent change; a loading ("thinking") message stops loading."""
        message = self.messages[message_id]
        for key in ("content", "embeds", "components"):
            if key in data:
                message[key] = data[key] or ([] if key != "content" else "")
        if "flags" in data:  # an edit cannot make a message ephemeral, or public
            message["flags"] = ((data["flags"] or 0) & ~FLAG_EPHEMERAL) | (message["flags"] & FLAG_EPHEMERAL)
        message["flags"] &= ~FLAG_LOADING
        message["attachments"] = self._attachments(
            int(message["channel_id"]), data, files, message["attachments"]
        )
        message["edited_timestamp"] = now_iso()
        return message

    def _attachments(
        self, channel_id: int, data: dict[str, Any], files: list[RecordedFile], existing: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Attachments as Discord keeps them: old ones named by id, new ones by their files[n] index."""
        by_index = {int(f.field[len("files[") : -1]): f for f in files if f.field.startswith("files[")}
        kept = {a["id"]: a for a in existing}
        if "attachments" not in data:
            return existing + [self._attachment(channel_id, f) for f in by_index.values()]
        result = []
        for entry in data["attachments"] or []:
            if str(entry["id"]) in kept:
                result.append(kept[str(entry["id"])])
            elif int(entry["id"]) in by_index:
                result.append(
                    self._attachment(channel_id, by_index[int(entry["id"])], entry.get("description"))
                )
            else:
                raise DiscordError(400, 50035, f"Invalid Form Body: no file for attachment {entry['id']}")
        return result

    def _attachment(
        self, channel_id: int, file: RecordedFile, description: str | None = None
    ) -> dict[str, Any]:
        attachment_id = self.ids()
        url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{file.filename}"
        attachment = {"id": str(attachment_id), "filename": file.filename, "size": len(file.data), "url": url,
                      "proxy_url": url}  # fmt: skip
        if description is not None:
            attachment["description"] = description
        return attachment


async def _read_body(request: web.Request) -> tuple[Any, list[RecordedFile]]:
    """JSON, or multipart with payload_json and files[n] parts, as discord.py sends them."""
    if request.content_type == "multipart/form-data":
        payload: Any = None
        files = []
        reader = await request.multipart()
        async for part in reader:
            data = bytes(await part.read())  # type: ignore[union-attr]
            if part.name == "payload_json":  # type: ignore[union-attr]
                payload = json.loads(data)
            else:
                files.append(RecordedFile(part.name or "", part.filename or "", data))  # type: ignore[union-attr]
        return payload, files
    if request.can_read_body:
        return await request.json(), []
    return None, []
