"""The norse engine (norse 1.1.0): a NIR graph run through norse's own importer, for one
recurrent population (``network``) or a graph of populations (``graph``)."""
