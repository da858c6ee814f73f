"""Reading the changes of a product from its git repository."""
