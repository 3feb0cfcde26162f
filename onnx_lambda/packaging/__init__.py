"""Docker-free Lambda artefacts: dependency layer, model layer, function zip, size report, verification."""
