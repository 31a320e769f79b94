"""HTML pages for residents, officers and auditors."""

from django.urls import path

from investments import views

urlpatterns = [
    path("", views.home, name="home"),
]
