"""A peer that changes its key is still trusted: we refetch its actor once and verify again."""

from __future__ import annotations

from activitypub.keys import generate_rsa_key, private_key_to_pem, public_key_to_pem
from fedi import following, outbox, storage
from fedi.instance import open_instance
from fedi_testing import settle


async def test_posts_signed_with_a_rotated_key_are_accepted_after_one_refetch(make_instance):
    lyon = await make_instance("avf-lyon")
    nantes = await make_instance("avf-nantes")
    await following.follow(lyon.instance, nantes.actor_url)
    await settle(lyon, nantes)
    old_pem = (await storage.get_remote_actor_by_uri(lyon.db, nantes.actor_url)).public_key_pem

    new_key = generate_rsa_key()
    async with nantes.db.transaction() as tx:
        await tx.execute("UPDATE local_actors SET private_key_pem = ?, public_key_pem = ? WHERE uri = ?",
                         (private_key_to_pem(new_key), public_key_to_pem(new_key.public_key()), nantes.actor_url))
    rotated = await open_instance(nantes.instance.directory)
    nantes.instance.association = rotated.association
    await rotated.close()

    post = await outbox.publish_post(nantes.instance, "Signé avec la nouvelle clé")
    await settle(lyon, nantes)

    assert [p.uri for p in await storage.list_timeline(lyon.db, 10)] == [post.uri]
    cached = await storage.get_remote_actor_by_uri(lyon.db, nantes.actor_url)
    assert cached.public_key_pem != old_pem
    assert cached.public_key_pem == public_key_to_pem(new_key.public_key())
