"""Several associations served by one process, chosen by the Host header (`fedi tenant add`,
`fedi serve --tenants`): each keeps its own site, actor and followers, and they federate with
each other like separate servers."""

from __future__ import annotations

import asyncio
import signal
import sys

import httpx

from fedi_testing import AP_HEADERS, free_port


async def _fedi(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedi", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def _wait_until_up(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never came up")


async def test_two_tenants_in_one_process_have_their_own_sites_and_federate(tmp_path):
    port = free_port()
    tenants = str(tmp_path / "tenants")
    lyon, nantes = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    for url, name, title in ((lyon, "avf-lyon", "AVF Lyon"), (nantes, "avf-nantes", "AVF Nantes")):
        code, out, err = await _fedi("tenant", "add", "--dir", tenants, "--url", url, "--name", name,
                                     "--title", title, "--allow-private")
        assert code == 0, err
    code, out, _ = await _fedi("tenant", "list", "--dir", tenants)
    assert "@avf-lyon@127.0.0.1" in out and "@avf-nantes@localhost" in out

    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "fedi", "serve", "--tenants", tenants, "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        await _wait_until_up(lyon)
        async with httpx.AsyncClient() as client:
            assert "AVF Lyon" in (await client.get(lyon)).text
            assert "AVF Nantes" in (await client.get(nantes)).text
            unknown = await client.get(lyon, headers={"Host": f"other.example:{port}"})
            assert unknown.status_code == 404
            finger = await client.get(f"{nantes}/.well-known/webfinger",
                                      params={"resource": f"acct:avf-nantes@localhost:{port}"})
            assert finger.json()["subject"] == f"acct:avf-nantes@localhost:{port}"

        # Lyon's association follows Nantes' (the CLI queues it; the server's workers send it)
        code, _, err = await _fedi("follow", "--dir", f"{tenants}/127.0.0.1_{port}", f"{nantes}/users/avf-nantes")
        assert code == 0, err
        code, out, err = await _fedi("post", "--dir", f"{tenants}/localhost_{port}", "--title", "Café",
                                     "Café des nouveaux **jeudi**")
        post_id = out.strip().splitlines()[-1]
        async with httpx.AsyncClient() as client:
            for _ in range(300):  # the tenants' workers look for CLI-queued work every 10 s
                following = (await client.get(f"{lyon}/users/avf-lyon/following?page=1",
                                              headers=AP_HEADERS)).json()
                if following["orderedItems"]:  # accepted by Nantes
                    break
                await asyncio.sleep(0.1)
            assert following["orderedItems"] == [f"{nantes}/users/avf-nantes"]
            followers = (await client.get(f"{nantes}/users/avf-nantes/followers", headers=AP_HEADERS)).json()
            assert followers["totalItems"] == 1  # not listed: the count only
            note = (await client.get(post_id, headers=AP_HEADERS)).json()
            assert note["attributedTo"] == f"{nantes}/users/avf-nantes"
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = await server.communicate()
    assert server.returncode == 0, err.decode()[-2000:]


async def test_each_tenant_has_its_own_inbox_rate_so_a_relay_can_reach_them_all(tmp_path):
    """The relay sends each post to every association at once, from one address: in a shared
    process each tenant counts that address on its own, as separate servers would."""
    from fedi.config import new_config
    from fedi.instance import create_instance_files, open_instance
    from web.app import create_app

    port = free_port()
    sites = []
    for host, name in ((f"127.0.0.1:{port}", "avf-lyon"), (f"localhost:{port}", "avf-nantes")):
        config = new_config(f"http://{host}", name, name, allow_private=True)
        await create_instance_files(tmp_path / name, config)
        sites.append(await open_instance(tmp_path / name))
    app = create_app(sites, run_workers=False, inbox_rate=(0.01, 2))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
            async def post(host: str) -> int:
                response = await client.post(f"http://{host}/inbox", content=b"{}",
                                             headers={"Content-Type": "application/activity+json"})
                return response.status_code

            lyon = [await post(f"127.0.0.1:{port}") for _ in range(3)]
            nantes = [await post(f"localhost:{port}") for _ in range(3)]
        assert lyon[2] == nantes[2] == 429  # each site's burst of 2 is spent...
        assert 429 not in lyon[:2] + nantes[:2]  # ...and one site's never spends the other's
    finally:
        for site in sites:
            await site.close()
