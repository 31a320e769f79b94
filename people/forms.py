"""HTML forms for people."""

from django import forms


class RegisterForm(forms.Form):
    username = forms.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    email = forms.EmailField()
    full_name = forms.CharField(max_length=200)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    postcode = forms.CharField(max_length=10)
    password = forms.CharField(widget=forms.PasswordInput, max_length=128)
