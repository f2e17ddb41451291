"""Table definitions, one module per service, all on one MetaData.

Each module's tables are created by that service's own alembic branch in
``store/migrations/versions``; keep the two in step.
"""

from sqlalchemy import MetaData

metadata = MetaData()
