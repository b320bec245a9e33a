from django import template

from mfapp.core.formatting import plain_decimal

register = template.Library()
trim = register.filter("trim", plain_decimal)
