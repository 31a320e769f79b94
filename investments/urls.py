"""HTML pages for residents."""

from django.urls import path

from investments import views

urlpatterns = [
    path("", views.home, name="home"),
    path("issues/<int:issue_id>/", views.issue_detail, name="issue-page"),
    path("subscriptions/<int:subscription_id>/", views.subscription_detail, name="subscription-detail"),
    path(
        "subscriptions/<int:subscription_id>/cancel/",
        views.subscription_cancel,
        name="subscription-cancel-page",
    ),
    path("me/", views.my_investments, name="my-investments"),
]
