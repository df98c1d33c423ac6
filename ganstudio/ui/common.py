"""What every tab shares."""

# Events that run model work share one concurrency group: the engine serialises device work
# itself, so this only bounds how many such requests hold a server thread at once.
DEVICE_WORK = {"concurrency_id": "device", "concurrency_limit": 16}
