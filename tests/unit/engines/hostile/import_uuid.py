# VT201: tries to make order ids from uuid4, which differ on every replay.
import uuid

RUN_ID = uuid.uuid4().hex
