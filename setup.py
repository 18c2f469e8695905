"""What pyproject.toml cannot say: the wheel's run-time data.

templates/, static/ and public/ stay at the top of the repository (where the
design card puts them) and travel inside the wheel as the data directories
``adminpanel/templates``, ``adminpanel/static`` and ``adminpanel/public``;
adminpanel/lib/resources.py finds them in either place.
"""

from setuptools import find_packages, setup

DATA_DIRS = {
    "adminpanel.templates": "templates",
    "adminpanel.static": "static",
    "adminpanel.public": "public",
}

setup(
    packages=[*find_packages(include=["adminpanel", "adminpanel.*"]), *DATA_DIRS],
    package_dir=DATA_DIRS,
    package_data={name: ["**/*"] for name in DATA_DIRS},
)
