"""Tests for Home LLM.

The tests load the integration (as Home Assistant does: custom_components.home_llm) and the
tooling (data/, training/: they import the installed home_llm_core) in one process. Registering
every home_llm_core module under the integration's name as well, before anything imports the
integration, makes the two names one set of module objects: a Home, a ServiceCall or an
exception class is the same whichever way it was imported (home_llm_core/__init__.py).
"""

import importlib
import pkgutil
import sys

import home_llm_core

for _module in pkgutil.walk_packages(home_llm_core.__path__, prefix="home_llm_core."):
    importlib.import_module(_module.name)
for _name, _module in list(sys.modules.items()):
    if _name.split(".")[0] == "home_llm_core":
        sys.modules[f"custom_components.home_llm.{_name}"] = _module
