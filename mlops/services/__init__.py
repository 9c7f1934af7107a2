"""Use cases (train, evaluate, …) taking their collaborators (runtimes, stores, catalogs) as arguments."""
