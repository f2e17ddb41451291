"""State machines, versions, aliases, activities and tags: the Step Functions resources."""
