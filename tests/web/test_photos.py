"""An editor adds photos to news: what is stored and served (small, upright, without any
metadata), what visitors and followers' servers see, and every upload the desk refuses."""

from __future__ import annotations

import html
import io
import re
import struct
import zlib

import httpx
from PIL import Image

from desk_testing import HTML, alert_of, csrf_of, log_in
from fedi import following, storage
from fedi.media import media_directory
from fedi_testing import settle, table_counts

ALT = "Six bénévoles autour d’une table au café d’accueil"
GPS_LATITUDE = (45.0, 45.0, 33.0)


def phone_photo(width: int = 3000, height: int = 2000, orientation: int = 6) -> bytes:
    """A JPEG as a phone takes it: sideways with an Orientation tag, GPS position, maker,
    an XMP packet and a comment."""
    picture = Image.new("RGB", (width, height), (180, 40, 40))
    picture.paste((20, 20, 200), (0, 0, width // 2, height // 2))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: GPS_LATITUDE, 3: "E", 4: (4.0, 50.0, 12.0)}
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif, comment=b"chez Marie, 12 rue des Lilas",
                 xmp=b"<x:xmpmeta>chez Marie</x:xmpmeta>")
    return buffer.getvalue()


def png_of(width: int, height: int, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, (width, height)).save(buffer, "PNG")
    return buffer.getvalue()


def png_bomb(side: int = 20_000) -> bytes:
    """A 20000×20000 black PNG that weighs 50 KB: decoded, it would take 400 million pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + side // 8)
    data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def news(title: str = "Café d'accueil", **fields: str) -> dict[str, str]:
    return {"kind": "news", "title": title, "text": "Venez nombreux jeudi.", "action": "publish",
            **fields}


def said(response: httpx.Response) -> str:
    """The form's error as read (French spacing and escaping undone)."""
    return html.unescape(alert_of(response.text)).replace("\N{NO-BREAK SPACE}", " ")


def stored_files(site) -> list[str]:
    directory = media_directory(site.instance.directory)
    return sorted(path.name for path in directory.iterdir()) if directory.exists() else []


async def nothing_stored(site) -> bool:
    counts = await table_counts(site.instance, ("media", "post_media", "posts"))
    return counts == {"media": 0, "post_media": 0, "posts": 0} and stored_files(site) == []


async def test_an_editor_publishes_news_with_a_phone_photo_that_reaches_a_following_instance(make_instance):
    site = await make_instance("avf-lyon")
    follower = await make_instance("avf-nantes")
    await following.follow(follower.instance, site.actor_url)
    await settle(site, follower)
    desk = await log_in(site, "julie", role="editor")

    response = await desk.submit("/desk/posts/new", "/desk/posts/new", news(alt=ALT),
                                 files={"photo": ("IMG_2041.jpg", phone_photo(), "image/jpeg")})
    assert response.status_code == 303, alert_of(response.text)

    [filename] = stored_files(site)
    directory = media_directory(site.instance.directory)
    modes = [oct(path.stat().st_mode & 0o777) for path in (directory, directory / filename)]
    assert modes == ["0o700", "0o600"]  # readable by the server's user only
    served = await desk.client.get(f"/media/{filename}")
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in served.headers["cache-control"]
    picture = Image.open(io.BytesIO(served.content))
    assert picture.size == (1067, 1600)  # turned upright, then shrunk to 1600 px
    assert len(picture.getexif()) == 0 and "exif" not in picture.info
    assert b"Marie" not in served.content and b"PhoneMaker" not in served.content

    home = await desk.page("/")
    assert f'<img src="/media/{filename}" alt="{ALT}"' in home.text

    await settle(site, follower)
    [received] = await storage.list_timeline(follower.db, 10)
    [attachment] = received.raw["attachment"]
    assert attachment["url"] == f"{site.url}/media/{filename}"
    assert attachment["name"] == ALT and attachment["mediaType"] == "image/jpeg"
    assert (attachment["width"], attachment["height"]) == (1067, 1600)
    await desk.aclose()


async def test_an_editor_describes_a_photo_again_removes_another_and_adds_a_third(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", news(alt=["Le marché", "La mairie"]),
                                 files=[("photo", ("a.png", png_of(400, 300), "image/png")),
                                        ("photo", ("b.png", png_of(300, 400), "image/png"))])
    assert response.status_code == 303, alert_of(response.text)
    editor_page = response.headers["location"]
    post_id = int(re.search(r"/desk/posts/(\d+)", editor_page).group(1))
    post = await storage.get_post_by_id(site.db, post_id)
    market, town_hall = await storage.list_attachments(site.db, post.uri)
    assert (market.alt, town_hall.alt) == ("Le marché", "La mairie")

    page = (await desk.page(editor_page)).text
    assert f'name="alt_{market.media_id}" value="Le marché"' in page
    assert f'name="remove" value="{town_hall.media_id}"' in page

    response = await desk.submit(editor_page, editor_page, news(**{
        f"alt_{market.media_id}": "Le marché du samedi", f"alt_{town_hall.media_id}": "La mairie",
        "remove": str(town_hall.media_id), "alt": "Le pique-nique"}),
        files={"photo": ("c.png", png_of(200, 200), "image/png")})
    assert response.status_code == 303, alert_of(response.text)
    photos = await storage.list_attachments(site.db, post.uri)
    assert [photo.alt for photo in photos] == ["Le marché du samedi", "Le pique-nique"]
    assert "La mairie" not in (await desk.page(post.uri)).text
    await desk.aclose()


async def test_saving_without_touching_the_photos_keeps_them(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", news(alt="Le marché"),
                                 files={"photo": ("a.png", png_of(40, 30), "image/png")})
    editor_page = response.headers["location"]
    response = await desk.submit(editor_page, editor_page, news(text="Nouveau texte"))
    assert response.status_code == 303, alert_of(response.text)
    post = await storage.get_post_by_id(site.db, int(editor_page.split("/")[-1].split("?")[0]))
    assert [photo.alt for photo in await storage.list_attachments(site.db, post.uri)] == ["Le marché"]
    await desk.aclose()


async def test_a_transparent_gif_keeps_its_transparency_as_a_png(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    frames = [Image.new("P", (120, 60), colour) for colour in (0, 1, 2)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], transparency=0)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", news(alt="Le logo animé"),
                                 files={"photo": ("logo.gif", buffer.getvalue(), "image/gif")})
    assert response.status_code == 303, alert_of(response.text)
    [filename] = stored_files(site)
    served = await desk.client.get(f"/media/{filename}")
    assert filename.endswith(".png") and served.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).mode == "RGBA"
    await desk.aclose()


async def test_uploads_the_desk_refuses_leave_nothing_behind(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    refused = [
        ({"photo": ("notes.jpg", b"Ceci est un texte, pas une photo.", "image/jpeg")}, ALT,
         "« notes.jpg » n'est pas une photo que le site peut prendre : choisissez une image "
         "JPEG, PNG, WebP ou GIF."),
        ({"photo": ("bombe.png", png_bomb(), "image/png")}, ALT,
         "La photo « bombe.png » a trop de pixels (50 millions au plus). Choisissez une version "
         "plus petite."),
        ({"photo": ("grande.jpg", b"\xff\xd8" + bytes(30 * 1024 * 1024), "image/jpeg")}, ALT,
         "La photo « grande.jpg » est trop lourde : 10 Mo au plus. Choisissez une version plus "
         "petite."),
        ({"photo": ("abimee.jpg", phone_photo()[:5000], "image/jpeg")}, ALT,
         "La photo « abimee.jpg » est abîmée et ne peut pas être lue. Essayez-en une autre."),
        ({"photo": ("sans-texte.jpg", phone_photo(), "image/jpeg")}, "   ",
         "Décrivez chaque photo en quelques mots (son texte alternatif) : les personnes qui ne "
         "peuvent pas la voir entendent cette description à la place."),
        ([("photo", (f"{n}.png", png_of(10, 10), "image/png")) for n in range(5)], [ALT] * 5,
         "Une publication a au plus 4 photos."),
    ]
    for files, alt, message in refused:
        response = await desk.submit("/desk/posts/new", "/desk/posts/new", news(alt=alt), files=files)
        assert response.status_code == 400
        assert said(response) == message
        assert 'value="Café d&#39;accueil"' in response.text  # what was typed is still there
        assert await nothing_stored(site)
    await desk.aclose()


async def test_a_photo_refused_among_good_ones_stores_none_of_them(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", news(alt=[ALT, ALT]), files=[
        ("photo", ("bonne.png", png_of(50, 50), "image/png")),
        ("photo", ("mauvaise.png", b"pas une image", "image/png"))])
    assert response.status_code == 400 and "mauvaise.png" in said(response)
    assert await nothing_stored(site)
    await desk.aclose()


async def test_a_form_heavier_than_the_limit_is_refused_before_it_is_read(make_instance):
    site = await make_instance("avf-lyon")
    desk = await log_in(site)
    huge = {"photo": ("enorme.jpg", bytes(45 * 1024 * 1024), "image/jpeg")}
    response = await desk.submit("/desk/posts/new", "/desk/posts/new", news(alt=ALT), files=huge)
    assert response.status_code == 413
    assert "Ce que vous avez envoyé est trop volumineux." in response.text
    assert await nothing_stored(site)

    # The same form sent in chunks, without announcing its length: cut off as it arrives.
    token = csrf_of((await desk.page("/desk/posts/new")).text)
    form = desk.client.build_request("POST", "/desk/posts/new", data={"csrf": token, **news(alt=ALT)},
                                     files=huge)
    body = form.read()

    async def chunks():
        for start in range(0, len(body), 1024 * 1024):
            yield body[start:start + 1024 * 1024]

    response = await desk.client.post("/desk/posts/new", content=chunks(), headers={
        **HTML, "content-type": form.headers["content-type"]})
    assert response.status_code == 413
    assert await nothing_stored(site)
    await desk.aclose()


async def test_media_serves_only_its_own_pictures(make_instance):
    site = await make_instance("avf-lyon")
    directory = media_directory(site.instance.directory)
    directory.mkdir(exist_ok=True)
    (directory / "notes.txt").write_text("secret")
    (directory / ".upload-abc123").write_bytes(b"half written")
    async with httpx.AsyncClient(base_url=site.url, headers=HTML) as client:
        for path in ["/media/notes.txt", "/media/.upload-abc123", "/media/..%2Ffedi.toml",
                     "/media/%2e%2e%2Ffedi.sqlite3", "/media/..%5Cfedi.toml", "/media/fedi.sqlite3",
                     f"/media/{'0' * 32}.jpg", f"/media/{'0' * 32}.jpg.txt", "/media/"]:
            response = await client.get(path)
            assert response.status_code == 404, path
            assert "secret" not in response.text and "[instance]" not in response.text
