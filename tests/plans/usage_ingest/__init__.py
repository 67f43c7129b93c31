"""The usage service (plans.usage): records applied to the buckets that pay for them."""
